"""The dashboard's cached fragments (charts, filter options) never show numbers older than the snapshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import caches

from alignment.goals import update_goal
from alignment.kpi_definitions import REGISTRY
from alignment.models import Goal
from alignment.snapshots import compute_snapshots
from leads.models import Campaign
from tests.alignment.pipeline import at, handoff, journey
from tests.factories import CampaignFactory

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
PAGES = [
    {},
    {"period": "2026-10"},
    {"period": "2026-Q4"},
    {"period": "2026-11", "campaign": "webinar"},
]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def add_leads(rep, *, count: int, rejected: int = 0) -> None:
    """``count`` November MQLs of the webinar campaign, the first ``rejected`` of them rejected by ``rep``."""
    campaign = Campaign.objects.filter(slug="webinar").first() or CampaignFactory(
        slug="webinar", name="Spring webinar"
    )
    for index in range(count):
        lead = journey(created=at(11, 2), campaign=campaign, source="web", owner=rep).to("mql", at(11, 3))
        if index < rejected:
            handoff(
                lead.lead,
                rep,
                assigned=at(11, 3),
                due=at(11, 4),
                status="rejected",
                closed=at(11, 3, 12),
                reason="no-budget",
            )
            lead.to("nurture", at(11, 3, 12), reason="no-budget")


def refresh() -> None:
    for period in ("2026-11", "2026-10", "2026-Q4"):
        compute_snapshots(period=period)


def page(client, params: dict[str, str]) -> str:
    """The page's HTML, its CSRF token (masked afresh on each response) left out."""
    response = client.get("/", params)
    assert response.status_code == 200
    return re.sub(
        r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode()
    )


def afresh(client, params: dict[str, str]) -> str:
    """The page rendered with no fragment cached."""
    caches["template_fragments"].clear()
    return page(client, params)


def test_a_page_served_from_cached_fragments_is_the_page_rendered_afresh(client, rep):
    add_leads(rep, count=4, rejected=1)
    refresh()
    client.force_login(rep)
    for params in PAGES:
        first = afresh(client, params)
        assert page(client, params) == first


def test_new_snapshots_show_up_in_charts_already_cached(client, rep):
    add_leads(rep, count=3)
    refresh()
    client.force_login(rep)
    before = {str(params): page(client, params) for params in PAGES}
    assert "MQL, MQL: 3<" in before[str({})]
    assert "Leads rejected by reason" not in before[str({})]
    add_leads(rep, count=2, rejected=2)
    refresh()
    for params in PAGES:
        cached = page(client, params)
        # October's page shows nothing of November, so it stays the same.
        assert (cached == before[str(params)]) == (params.get("period") == "2026-10")
        assert cached == afresh(client, params)
    now = page(client, {})
    assert 'data-testid="tile-mqls">5<' in now
    assert '<tr data-kpi="mqls"><td>MQLs</td><td class="num">5<' in now
    assert "MQL, MQL: 5<" in now  # the waterfall
    assert "MQLs, Nov so far: 5<" in now  # the twelve-month trend
    assert "No budget: 2<" in now  # the reject reasons


def test_a_goal_change_shows_up_at_once(client, rep, manager):
    add_leads(rep, count=3)
    refresh()
    goal = Goal.objects.create(name="MQLs in November", metric="mqls", target=Decimal(10), period="2026-11")
    client.force_login(manager)
    before = page(client, {})
    assert "of 10<" in before
    update_goal(goal=goal, actor=manager, fields={"target": Decimal(4)})
    after = page(client, {})
    assert "of 4<" in after
    assert after == afresh(client, {})
    update_goal(goal=goal, actor=manager, fields={"name": "November MQLs"})
    renamed = page(client, {})
    assert "<strong>November MQLs</strong>" in renamed
    assert renamed == afresh(client, {})
    goal.delete()
    assert "November MQLs" not in page(client, {})


def test_a_goals_pace_moves_on_with_the_clock_on_a_cached_page(client, rep, manager):
    add_leads(rep, count=3)
    refresh()
    Goal.objects.create(name="MQLs in November", metric="mqls", target=Decimal(10), period="2026-11")
    client.force_login(manager)
    today = page(client, {})
    with time_machine.travel(datetime(2026, 11, 29, 12, tzinfo=UTC), tick=False):
        later = page(client, {})
        assert later != today
        assert later == afresh(client, {})


def test_a_renamed_campaign_shows_up_in_the_filter_at_once(client, rep):
    add_leads(rep, count=1)
    refresh()
    client.force_login(rep)
    assert ">Spring webinar</option>" in page(client, {})
    Campaign.objects.filter(slug="webinar").update(name="Autumn webinar")
    html = page(client, {"campaign": "webinar"})
    assert ">Autumn webinar</option>" in html
    assert "Spring webinar" not in html
    assert page(client, {}) == afresh(client, {})


def test_a_kpi_in_a_cache_key_is_named_by_what_the_page_shows_not_by_where_it_sits_in_memory():
    assert not any(" at 0x" in repr(kpi) for kpi in REGISTRY)
