"""In a real Chromium: a rep accepts one lead and rejects another with a reason; marketing sees why."""

from __future__ import annotations

import pytest

from funnel import promotion
from funnel.models import Handoff
from scoring.models import ScoringModel
from tests.conftest import seed_reference_rows
from tests.e2e.conftest import screenshot
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reference_data():
    """The rows the migrations seed (roles, stages, reject reasons), idempotently.

    TRICKY: a transactional test that ran just before flushes them; serialized rollback puts them back, but
    with the Playwright fixtures in play this test may not see them, so it ensures them itself.
    """
    seed_reference_rows()


@pytest.fixture
def two_hand_offs(reference_data, rep):
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )[0]
    webinar = CampaignFactory(slug="spring-webinar", name="Spring webinar")
    ops = PersonaFactory(slug="ops-leader", name="Operations leader")
    breakdown = [{"rule": "VP title", "points": 30}, {"rule": "Demo request", "points": 25}]
    keep = LeadFactory(
        first_name="Ada",
        last_name="Keeper",
        company="Northwind",
        job_title="VP Operations",
        score=85,
        grade="A",
        score_breakdown=breakdown,
        campaign=webinar,
        persona=ops,
    )
    drop = LeadFactory(
        first_name="Bo",
        last_name="Dropper",
        company="Tiny Ltd",
        job_title="Intern",
        score=70,
        grade="B",
        score_breakdown=breakdown,
        campaign=webinar,
        persona=ops,
    )
    promotion.promote_qualified_leads()
    return keep, drop


def test_a_rep_accepts_and_rejects_and_the_marketer_sees_the_rejection(
    page, login, two_hand_offs, rep, marketer
):
    keep, drop = two_hand_offs
    login(rep)
    page.goto("/queue/")
    page.wait_for_selector(f"#handoff-{keep.pk} time.countdown")
    assert "left" in page.inner_text(f"#handoff-{keep.pk} time.countdown")  # the live countdown ran
    assert "VP title +30" in page.inner_text(f"#handoff-{keep.pk}")
    screenshot(page, "funnel-queue-rep")

    page.click(f"#handoff-{keep.pk} button:has-text('Accept')")
    page.wait_for_selector(f"#handoff-{keep.pk}.is-done")
    assert "Accepted." in page.inner_text(f"#handoff-{keep.pk}")

    row = f"#handoff-{drop.pk}"
    page.click(f"{row} summary")
    page.select_option(f"#reason-{drop.pk}", "outside-target-market")
    page.fill(f"#note-{drop.pk}", "An intern at a two-person company.")
    screenshot(page, "funnel-queue-reject-picker")
    page.click(f"{row} button:has-text('Reject lead')")
    page.wait_for_selector(f"{row}.is-done")
    assert "Rejected." in page.inner_text(row)
    assert page.url.endswith("/queue/")  # no full page load: the rows were swapped in place
    screenshot(page, "funnel-queue-after")

    assert Handoff.objects.get(lead=keep).status == "accepted"
    rejected = Handoff.objects.get(lead=drop)
    assert (rejected.status, rejected.reject_reason.slug) == ("rejected", "outside-target-market")

    page.context.clear_cookies()
    login(marketer)
    page.goto("/feedback/")
    table = page.inner_text("table.rejected-leads")
    assert "Bo Dropper" in table
    assert "Outside target market" in table
    assert "two-person company" in table
    assert "spring webinar" in page.inner_text("section[aria-labelledby=by-campaign]").lower()
    screenshot(page, "funnel-feedback")


@pytest.fixture
def a_page_and_more(reference_data, rep):
    """More hand-offs than one queue page holds, all the rep's."""
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )
    leads = [
        LeadFactory(first_name="Lead", last_name=f"{i:02d}", company="Acme", score=80, grade="A")
        for i in range(52)
    ]
    promotion.promote_qualified_leads()
    return leads


def test_a_rep_rejects_from_a_page_that_htmx_swapped_in(page, login, a_page_and_more, rep):
    login(rep)
    page.goto("/queue/")
    assert page.locator("select[name=reason]").count() == 0  # one form, in the page's <template>
    page.click("a[rel=next]")
    page.wait_for_selector("a[rel=prev]")
    row_id = page.locator("tr.queue-row").first.get_attribute("id")
    lead_id = int(row_id.removeprefix("handoff-"))
    row = f"#{row_id}"
    page.click(f"{row} summary")
    page.select_option(f"#reason-{lead_id}", "no-need")
    assert page.get_attribute(f"{row} label:has-text('Reason')", "for") == f"reason-{lead_id}"
    screenshot(page, "funnel-queue-page-two-reject-picker")
    page.click(f"{row} button:has-text('Reject lead')")
    page.wait_for_selector(f"{row}.is-done")
    assert "Rejected." in page.inner_text(row)
    assert Handoff.objects.get(lead_id=lead_id).reject_reason.slug == "no-need"
    assert page.locator("select[name=reason]").count() == 0  # the row's form went with the row


def test_without_javascript_a_rep_rejects_on_the_reject_page(browser, live_server, a_page_and_more, rep):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", rep.username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.goto("/queue/")
    row_id = page.locator("tr.queue-row").first.get_attribute("id")
    lead_id = int(row_id.removeprefix("handoff-"))
    page.click(f"#{row_id} summary")
    page.click(f"#{row_id} a.reject-fallback")
    page.wait_for_url(f"**/queue/{lead_id}/reject/")
    page.select_option(f"#reason-{lead_id}", "duplicate")
    screenshot(page, "funnel-reject-page-without-javascript")
    page.click("button:has-text('Reject lead')")
    page.wait_for_url("**/queue/")
    assert "Rejected: " in page.inner_text("ul.messages")
    assert Handoff.objects.get(lead_id=lead_id).reject_reason.slug == "duplicate"
    context.close()
