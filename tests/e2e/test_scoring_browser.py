"""The scoring page in a real Chromium: the model in plain words; a marketer's proposal (the marketing
approval) with its impact, approved by a rep, then the rescore's progress; a second draft rejected with a
comment."""

from __future__ import annotations

import pytest
from django.utils import timezone

from scoring.impact import compute_draft_impact
from scoring.models import ScoringModel, ScoringRun
from scoring.rescore import rescore_all
from scoring.versions import propose_scoring_model
from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def some_leads():
    for n in range(40):
        LeadFactory(
            score=(n * 7) % 110 - 5, grade="ABCD"[n % 4], stage=["inquiry", "mql", "sal", "sql", "won"][n % 5]
        )


def test_a_marketer_proposes_a_draft_and_a_rep_approves_it(page, login, marketer, rep, some_leads):
    login(marketer)
    page.goto("/scoring/")
    assert page.locator("#active-model").get_by_text("Director or above: +20").is_visible()
    assert page.locator("svg.histogram rect.seg").count() > 0
    assert page.locator("#calibration tbody tr").count() == 5
    screenshot(page, "scoring-page")

    page.locator("#propose summary").click()
    page.fill("#id_mql_threshold", "70")
    page.fill("#id_note", "Fewer, better MQLs")
    page.fill("#id_fit-0-points", "25")
    page.select_option("#id_fit-10-field", "industry")
    page.select_option("#id_fit-10-operator", "eq")
    page.fill("#id_fit-10-value", "software")
    page.fill("#id_fit-10-points", "5")
    page.fill("#id_fit-10-label", "Software company")
    page.get_by_role("button", name="Propose draft").click()
    page.wait_for_url("**/scoring/#draft-2")
    assert page.get_by_text("your proposal counts as your team's approval").is_visible()
    draft = page.locator("#draft-2")
    assert draft.get_by_text("MQL threshold").is_visible()
    assert draft.get_by_text("Director or above: +25").is_visible()
    assert draft.get_by_text("Software company: +5").is_visible()
    assert draft.get_by_text("approved by Mia Marketer (proposer)").is_visible()
    assert draft.get_by_role("button", name="Approve v2 for marketing").count() == 0
    assert draft.get_by_text("Computing…").is_visible()

    # What the worker does once the proposal commits; the page picks it up by polling, without a reload.
    counted = compute_draft_impact(version=2)
    impact = draft.locator("#impact-2")
    impact.locator(".impact-grade").wait_for()
    assert impact.locator(".impact-grade").inner_text() == str(counted.impact_grade_changes)
    assert impact.locator(".impact-up").inner_text() == str(counted.impact_mql_up)
    assert impact.locator(".impact-down").inner_text() == str(counted.impact_mql_down)
    assert impact.get_by_text("Of 40 leads, against their scores under v1").is_visible()
    assert draft.get_by_text("Computing…").count() == 0
    draft.scroll_into_view_if_needed()
    screenshot(page, "scoring-draft-impact")

    page.context.clear_cookies()
    login(rep)
    page.goto("/scoring/#draft-2")
    page.locator("#draft-2").get_by_role("button", name="Approve v2 for sales").click()
    page.wait_for_url("**/scoring/#scoring-run")
    assert page.get_by_text("v2 is now active").is_visible()
    assert page.locator("#active-title").inner_text() == "Active model: version 2"
    assert page.locator("#active-model").get_by_text("Director or above: +25").is_visible()
    run_panel = page.locator("#scoring-run")
    assert run_panel.get_by_text("a rescore of every lead is queued").is_visible()
    model = ScoringModel.objects.get(version=2)
    assert (model.status, model.mql_threshold, model.approved_by_marketing, model.approved_by_sales) == (
        "active",
        70,
        marketer,
        rep,
    )

    # A worker halfway through the rescore: the panel follows it by polling.
    now = timezone.now()
    halfway = ScoringRun.objects.create(
        model_version=2, reason="activation of v2", total=40, done=20, started_at=now, updated_at=now
    )
    run_panel.get_by_text("20 / 40 leads (50%)").wait_for()
    assert run_panel.get_by_text("a rescore of every lead is queued").count() == 0
    screenshot(page, "scoring-rescore-progress")
    ScoringRun.objects.filter(pk=halfway.pk).delete()
    rescore_all(reason="activation of v2", workers=1)
    run_panel.get_by_text("40 / 40 leads (100%)").wait_for()
    assert run_panel.locator(".run-done").inner_text() == "Done"

    # A second draft, rejected by the rep with a comment.
    propose_scoring_model(actor=marketer, changes={"mql_threshold": 95, "note": "Only the very best"})
    page.reload()  # the address only differs from the current one by its #fragment: goto would not load
    draft = page.locator("#draft-3")
    draft.get_by_text("Reject v3…").click()
    draft.get_by_label("Why? (everyone sees this)").fill("95 would starve the sales team of leads.")
    draft.scroll_into_view_if_needed()
    screenshot(page, "scoring-draft-reject-form")
    draft.get_by_role("button", name="Reject v3").click()
    page.wait_for_url("**/scoring/#rejected-3")
    assert page.get_by_text("You rejected v3.").is_visible()
    rejected = page.locator("#rejected-3")
    assert rejected.get_by_text("Sam Seller rejected it on").is_visible()
    assert rejected.get_by_text("95 would starve the sales team of leads.").is_visible()
    assert page.locator("#draft-3").count() == 0
    rejected.scroll_into_view_if_needed()
    screenshot(page, "scoring-draft-rejected")
    third = ScoringModel.objects.get(version=3)
    assert (third.status, third.rejected_by, third.rejection_comment) == (
        "rejected",
        rep,
        "95 would starve the sales team of leads.",
    )
