"""In a real Chromium: a marketer logs in, finds a lead by search on /leads/ and opens it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from core.roles import ROLES
from tests.e2e.conftest import screenshot
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A live-server test empties the tables after each test, the groups made by a migration included."""
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def seed_pipeline(rep):
    persona = PersonaFactory(slug="ops-leader", name="Operations leader")
    campaign = CampaignFactory(slug="automation-expo", name="Automation Expo 2026")
    now = timezone.now()
    companies = ["Northwind Traders", "Globex", "Initech", "Umbrella Logistics", "Stark Industries"]
    for index in range(60):
        LeadFactory(
            first_name=["Ana", "Ben", "Chloé", "Dev", "Eva"][index % 5],
            last_name=f"Sample{index}",
            email=f"sample{index}@example.com",
            company=companies[index % 5],
            score=(index * 7) % 100,
            grade="ABCD"[index % 4],
            stage=["inquiry", "mql", "sal", "nurture"][index % 4],
            persona=persona if index % 2 else None,
            campaign=campaign if index % 3 else None,
            owner=rep if index % 4 == 1 else None,
            created_at=now - dt.timedelta(hours=index),
        )
    return LeadFactory(
        first_name="Grace",
        last_name="Hopper",
        email="grace.hopper@navy.example",
        company="Navy Computing Labs",
        job_title="Director of Engineering",
        seniority="director",
        is_decision_maker=True,
        company_size=1200,
        industry="Government",
        country="US",
        persona=persona,
        campaign=campaign,
        source="webinar",
        score=82,
        fit_score=50,
        engagement_score=32,
        grade="A",
        score_breakdown=[
            {"rule": "Seniority is director", "points": 20},
            {"rule": "Company size ≥ 1000", "points": 15},
            {"rule": "Decision maker", "points": 15},
            {"rule": "Webinar attended", "points": 20},
            {"rule": "Pricing page viewed", "points": 12},
        ],
        stage="mql",
        owner=rep,
        sla_due_at=now + dt.timedelta(hours=20),
    )


def test_marketer_logs_in_finds_a_lead_by_search_and_opens_it(page, login, marketer, rep):
    grace = seed_pipeline(rep)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto("/leads/")
    assert "/accounts/login/" in page.url
    screenshot(page, "login")

    login(marketer)
    page.goto("/leads/")
    assert page.locator("table.data tbody tr").count() == 50
    screenshot(page, "leads-list")

    # Typing filters the table in place (htmx), and the address bar keeps the search.
    page.fill("#f-search", "hopper")
    page.wait_for_url("**/leads/?*search=hopper*")
    rows = page.locator("table.data tbody tr")
    rows.first.wait_for()
    page.wait_for_function("document.querySelectorAll('table.data tbody tr').length === 1")
    assert "Grace Hopper" in rows.first.inner_text()
    assert "Navy Computing Labs" in rows.first.inner_text()
    screenshot(page, "leads-search")

    page.click("text=Grace Hopper")
    page.wait_for_url(f"**/leads/{grace.pk}/")
    assert page.locator("h1").inner_text() == "Grace Hopper"
    breakdown = page.locator("table.breakdown")
    assert "Seniority is director" in breakdown.inner_text()
    assert "MQL" in page.locator("#h-pipeline + dl").inner_text()
    screenshot(page, "lead-detail")

    page.fill("#id_body", "Met at the expo; wants pricing for 40 seats.")
    page.click("text=Add note")
    page.wait_for_selector("text=Note added.")
    assert "wants pricing for 40 seats" in page.locator("ol.notes").inner_text()
    # htmx and our script run under the Content-Security-Policy without a single violation
    assert not [line for line in console if "Content Security Policy" in line], "\n".join(console)


def test_pages_fit_a_phone_screen(page, login, marketer, rep):
    grace = seed_pipeline(rep)
    login(marketer)
    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (("/leads/", "leads-list-mobile"), (f"/leads/{grace.pk}/", "lead-detail-mobile")):
        page.goto(path)
        # Nothing but the table may scroll sideways: the page itself fits the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, name)


def test_filters_work_without_javascript(browser, live_server, marketer, rep):
    seed_pipeline(rep)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", marketer.username)
        page.fill("#id_password", "pw")
        page.click("button[type=submit]")
        page.goto("/leads/")
        page.select_option("#f-grade", "A")
        page.fill("#f-search", "navy")
        page.click("text=Apply")
        page.wait_for_url("**grade=A**")
        assert page.locator("table.data tbody tr").count() == 1
        assert "Grace Hopper" in page.locator("table.data tbody").inner_text()
    finally:
        context.close()


def test_marketer_edits_a_lead_inline_and_the_timeline_shows_the_change(page, login, marketer, rep):
    grace = seed_pipeline(rep)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    login(marketer)
    page.goto(f"/leads/{grace.pk}/")
    page.click("#profile >> text=Edit")
    # htmx swaps the facts for the form in place: the address stays the lead's page.
    page.wait_for_selector("#profile form")
    assert page.url.endswith(f"/leads/{grace.pk}/")
    assert page.locator("#id_job_title").input_value() == "Director of Engineering"
    page.fill("#id_job_title", "Chief Technology Officer")
    page.fill("#id_email", "not-an-address")
    page.click("#profile >> text=Save")
    page.wait_for_selector("#profile .field-errors")
    assert "valid e-mail address" in page.locator("#profile .field-errors").inner_text()
    screenshot(page, "lead-edit-inline-error")
    page.fill("#id_email", "grace.hopper@navy.example")
    page.fill("#id_company_size", "1500")
    page.click("#profile >> text=Save")
    page.wait_for_selector("#profile >> text=Saved.")
    assert "Chief Technology Officer" in page.locator("#profile dl.facts").inner_text()
    assert "1500 employees" in page.locator("#profile dl.facts").inner_text()
    # The timeline reloads itself and shows who changed what.
    page.wait_for_selector("#timeline >> text=Job title: Director of Engineering → Chief Technology Officer")
    assert "by Mia Marketer" in page.locator("#timeline li.timeline-change").first.inner_text()
    screenshot(page, "lead-edit-inline-saved")
    grace.refresh_from_db()
    assert (grace.job_title, grace.company_size) == ("Chief Technology Officer", 1500)
    assert not [line for line in console if "Content Security Policy" in line], console


def test_editing_works_without_javascript(browser, live_server, marketer, rep):
    grace = seed_pipeline(rep)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", marketer.username)
        page.fill("#id_password", "pw")
        page.click("button[type=submit]")
        page.goto(f"/leads/{grace.pk}/")
        page.click("#profile >> text=Edit")
        page.wait_for_url(f"**/leads/{grace.pk}/edit/")
        page.fill("#id_company", "Navy Research Labs")
        page.click("text=Save")
        page.wait_for_url(f"**/leads/{grace.pk}/")
        assert "Navy Research Labs" in page.locator("#profile dl.facts").inner_text()
        assert "Company: Navy Computing Labs → Navy Research Labs" in page.locator("#timeline").inner_text()
    finally:
        context.close()


def test_manager_selects_every_lead_on_the_page_and_sorts_by_a_column(page, login, manager, rep):
    seed_pipeline(rep)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    login(manager)
    page.goto("/leads/")
    assert "61 leads" in page.locator(".lead-total").inner_text()
    page.check("input.select-all")
    assert page.locator('input[name="ids"]:checked').count() == 50
    screenshot(page, "leads-list-manager")
    page.click("th >> text=Score")
    page.wait_for_url("**ordering=-score**")
    assert page.locator('th[aria-sort="descending"]').inner_text().upper().startswith("SCORE")
    page.fill("#f-search", "navy")
    page.wait_for_url("**search=navy**")
    page.wait_for_function("document.querySelectorAll('table.data tbody tr').length === 1")
    assert not [line for line in console if "Content Security Policy" in line], console
