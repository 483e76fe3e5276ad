"""The shared dashboard in Chromium for each role: it renders, filters change numbers, CSV downloads."""

from __future__ import annotations

from calendar import monthrange
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.models import Goal
from alignment.periods import current_month
from alignment.snapshots import compute_snapshots
from leads.models import CampaignCost
from tests.alignment.pipeline import at, handoff, journey
from tests.conftest import seed_reference_rows
from tests.e2e.conftest import screenshot
from tests.factories import CampaignFactory, PersonaFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OCTOBER = "2026-10"


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """Roles, stages and reject reasons as the data migrations seed them.

    TRICKY: a live-server test runs in a transactional database that is flushed after each test, which also
    removes what the data migrations wrote; seeding again (idempotently) keeps every test independent.
    """
    seed_reference_rows()


@pytest.fixture
def pipeline(seeded, rep, other_rep):
    """October 2026: nine MQLs from the webinar, three from search; some accepted, some rejected."""
    webinar = CampaignFactory(slug="webinar", name="Spring webinar")
    search = CampaignFactory(slug="search", name="Brand search")
    PersonaFactory(slug="ops", name="Operations leader")
    CampaignCost.objects.create(campaign=webinar, month=at(10, 1).date(), amount=Decimal(4500))
    for index in range(12):
        campaign, owner = (webinar, rep) if index < 9 else (search, other_rep)
        lead = journey(created=at(10, 1 + index), campaign=campaign, source="web", owner=owner)
        lead.to("mql", at(10, 2 + index))
        if index % 3 == 0:
            handoff(
                lead.lead, owner, assigned=at(10, 2 + index), due=at(10, 3 + index), status="accepted",
                closed=at(10, 2 + index, 15),
            )  # fmt: skip
            lead.to("sal", at(10, 2 + index, 15)).to("sql", at(10, 4 + index))
            if index < 6:
                lead.to("opportunity", at(10, 6 + index), amount=12000).to(
                    "won", at(10, 12 + index), amount=15000
                )
        elif index % 3 == 1:
            handoff(
                lead.lead, owner, assigned=at(10, 2 + index), due=at(10, 3 + index), status="rejected",
                closed=at(10, 2 + index, 11), reason="no-budget" if index < 6 else "no-need",
            )  # fmt: skip
            lead.to("nurture", at(10, 2 + index, 11), reason="no-budget" if index < 6 else "no-need")
    for period in (OCTOBER, "2026-09", "2026-Q4"):
        compute_snapshots(period=period)
    Goal.objects.create(name="SQLs in October", metric="sqls", target=Decimal(6), period=OCTOBER)
    Goal.objects.create(
        name="Acceptance rate", metric="acceptance_rate", target=Decimal("0.4"), period=OCTOBER
    )
    Goal.objects.create(name="SLA compliance", metric="sla_compliance", target=Decimal("0.9"), period=OCTOBER)


def tile(page, key: str) -> str:
    return page.locator(f'[data-testid="tile-{key}"]').inner_text().strip()


@pytest.mark.parametrize("role", ["marketer", "rep", "manager"])
def test_each_role_sees_the_dashboard_filters_it_and_downloads_csv(role, request, pipeline, page, login):
    user = request.getfixturevalue(role)
    login(user)
    page.goto(f"/?period={OCTOBER}")

    assert page.locator("h1").inner_text() == "Shared dashboard"
    assert page.locator("#h-waterfall").is_visible()
    assert page.locator("svg.chart").count() >= 5
    assert tile(page, "mqls") == "12"
    assert page.locator('[data-testid="goal"]').count() == 3
    screenshot(page, f"dashboard-{role}")

    page.select_option("#f-campaign", "webinar")  # submits at once (dashboard.js)
    page.wait_for_url("**campaign=webinar**")
    assert tile(page, "mqls") == "9"
    assert page.locator('[data-testid="scope-label"]').inner_text() == "Campaign: Spring webinar"

    page.select_option("#f-persona", "ops")  # clears the campaign: one scope at a time
    page.wait_for_url("**persona=ops**")
    assert "campaign=webinar" not in page.url
    assert tile(page, "mqls") == "0"

    page.goto(f"/?period={OCTOBER}&campaign=webinar")
    with page.expect_download() as download_info:
        page.click("#h-waterfall ~ a.csv, .panel-head:has(#h-waterfall) a.csv")
    download = download_info.value
    assert download.suggested_filename == f"waterfall-{OCTOBER}.csv"
    lines = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "period,scope,stage,leads,conversion_from_previous"
    assert lines[2] == f"{OCTOBER},campaign:webinar,MQL,9,1.0"


def test_the_manager_refreshes_from_the_dashboard_and_reviews_goals(pipeline, manager, page, login):
    login(manager)
    page.goto(f"/?period={OCTOBER}")
    page.click("text=Refresh numbers")
    expect(page.locator("#refresh-status")).to_contain_text("Refresh of Oct 2026 queued")

    page.goto("/goals/")
    assert page.locator('[data-testid="goal-review"]').count() == 3
    assert page.locator("text=What drives it").count() == 3
    screenshot(page, "goals-manager")
    page.click("text=New goal")
    page.fill("#id_name", "Won amount Q4")
    page.select_option("#id_metric", "marketing_sourced_won_amount")
    page.fill("#id_target", "250000")
    page.select_option("#id_period", "2026-Q4")
    page.click("text=Save goal")
    page.wait_for_url("**/goals/")
    assert page.locator('[data-testid="goal-review"]').count() == 4
    assert Goal.objects.filter(name="Won amount Q4", period="2026-Q4").exists()


def test_a_running_month_is_compared_with_the_same_days_of_the_month_before(seeded, rep, page, login):
    now = timezone.now()
    month = current_month(now)
    before = month.previous()
    # One MQL a minute into each month, and one late in the month before: outside the span so far.
    journey(created=before.start, source="web").to("mql", before.start + timedelta(minutes=1))
    journey(created=before.start, source="web").to("mql", before.end - timedelta(hours=1))
    journey(created=month.start, source="web").to("mql", min(month.start + timedelta(minutes=1), now))
    compute_snapshots(period=before, now=now)
    compute_snapshots(period=month, now=now)
    today = timezone.localdate(now)
    if today.day > monthrange(before.first_day.year, before.first_day.month)[1]:
        span = before.label
    elif today.day == 1:
        span = f"1 {before.first_day:%b}"
    else:
        span = f"1\u2013{today.day} {before.first_day:%b}"

    login(rep)
    page.goto("/")
    tile = page.locator('.tile[data-kpi="mqls"]')
    assert tile.locator('[data-testid="tile-mqls"]').inner_text() == "1"
    # Against the whole month before it would read -50 %.
    assert tile.locator(".tile-delta").inner_text() == f"no change vs {span}"
    assert "up to the same point" in tile.locator(".tile-delta").get_attribute("title")
    assert page.locator('[data-testid="kpi-table"] thead th').nth(2).text_content() == span
    screenshot(page, "dashboard-running-month")
