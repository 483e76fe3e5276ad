"""In a real Chromium: an @mention reaches the other user's unread count; a manager bulk-assigns hand-offs."""

from __future__ import annotations

import pytest

from funnel import promotion
from funnel.models import Handoff
from leads.models import Lead
from scoring.models import ScoringModel
from tests.conftest import seed_reference_rows
from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_mention_in_a_note_shows_up_in_the_other_users_unread_count(page, login, marketer, other_rep):
    seed_reference_rows()
    lead = LeadFactory(first_name="Ada", last_name="Keeper", company="Northwind")
    login(marketer)
    page.goto(f"/leads/{lead.pk}/")
    area = page.locator("#notes textarea")
    area.click()
    area.press_sequentially("Can you call her, @oll")
    page.wait_for_selector(".mention-list li[data-username=other_rep]")
    screenshot(page, "notify-mention-completion")
    area.press("Enter")  # takes the highlighted suggestion
    assert area.input_value() == "Can you call her, @other_rep "
    area.press_sequentially("? She asked for a demo.")
    page.click("#notes button:has-text('Add note')")
    page.wait_for_selector("text=Note added.")

    page.context.clear_cookies()
    login(other_rep)
    badge = page.locator("[data-testid=unread-count]")
    assert badge.inner_text() == "1"
    screenshot(page, "notify-unread-count")
    page.click("nav.mainnav a:has-text('Alerts')")
    row = page.locator("tr[data-kind=mention]")
    assert "Mia Marketer mentioned you on Ada Keeper (Northwind)" in row.inner_text()
    screenshot(page, "notify-alerts-page")
    row.locator("button:has-text('Mark read')").click()
    page.wait_for_selector("text=Marked 1 alert as read.")
    assert page.locator("[data-testid=unread-count]").count() == 0


def test_a_manager_bulk_assigns_three_hand_offs_to_a_rep(page, login, manager, rep, other_rep):
    seed_reference_rows()
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )
    leads = [
        LeadFactory(first_name="Lead", last_name=str(i), company="Acme", score=80, grade="A")
        for i in range(5)
    ]
    promotion.promote_qualified_leads()
    chosen = [lead for lead in leads if Lead.objects.get(pk=lead.pk).owner_id == rep.pk]
    assert len(chosen) == 3  # the rotation starts with rep: leads 0, 2 and 4
    login(manager)
    page.goto("/queue/")
    for lead in chosen:
        page.check(f"#handoff-{lead.pk} input[name=lead]")
    page.select_option("#bulk-owner", str(other_rep.pk))
    screenshot(page, "queue-bulk-assign-checked")
    page.click("[data-testid=bulk-assign]")
    page.wait_for_selector("text=Assigned 3 hand-offs.")
    screenshot(page, "queue-bulk-assign-done")
    for lead in chosen:
        assert Handoff.objects.get(lead=lead, status="open").rep_id == other_rep.pk
        assert "Olli Other" in page.inner_text(f"#handoff-{lead.pk}")
    page.context.clear_cookies()
    login(other_rep)
    assert int(page.inner_text("[data-testid=unread-count]")) >= 3  # each hand-off told to its new rep


def test_a_rep_given_several_leads_by_a_promotion_reads_one_alert_and_opens_the_queue(page, login, rep):
    seed_reference_rows()
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )
    for i in range(4):
        LeadFactory(first_name="Lead", last_name=str(i), company="Acme", score=80, grade="A")
    promotion.promote_qualified_leads()
    login(rep)
    assert page.inner_text("[data-testid=unread-count]") == "1"
    page.click("nav.mainnav a:has-text('Alerts')")
    row = page.locator("tr[data-kind='handoff.assigned']")
    assert "4 new hand-offs are waiting for your decision." in row.inner_text()
    screenshot(page, "notify-handoffs-grouped")
    row.locator("a:has-text('4 new hand-offs')").click()
    page.wait_for_url("**/queue/")
    for i in range(4):
        assert f"Lead {i}" in page.inner_text("main")
    screenshot(page, "notify-handoffs-queue")
