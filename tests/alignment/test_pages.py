from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from alignment.models import Goal
from alignment.scopes import resolve_scope
from alignment.snapshots import compute_snapshots
from tests.alignment.pipeline import at, handoff, journey
from tests.factories import CampaignFactory, PersonaFactory

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def build(rep, *, leads: int) -> None:
    """``leads`` leads from one campaign reach MQL in November; one in three is accepted, one rejected."""
    campaign = CampaignFactory(slug="webinar", name="Spring webinar")
    PersonaFactory(slug="ops", name="Ops leader")
    for index in range(leads):
        lead = journey(created=at(11, 2), campaign=campaign, source="web", owner=rep)
        lead.to("mql", at(11, 3))
        if index % 3 == 0:
            handoff(
                lead.lead, rep, assigned=at(11, 3), due=at(11, 4), status="accepted", closed=at(11, 3, 14)
            )
            lead.to("sal", at(11, 3, 14)).to("sql", at(11, 5))
        elif index % 3 == 1:
            closed = at(11, 3, 12)
            handoff(
                lead.lead,
                rep,
                assigned=at(11, 3),
                due=at(11, 4),
                status="rejected",
                closed=closed,
                reason="no-budget",
            )
            lead.to("nurture", at(11, 3, 12), reason="no-budget")
    for period in ("2026-11", "2026-10", "2026-Q4"):
        compute_snapshots(period=period)
    Goal.objects.create(name="SQLs in November", metric="sqls", target=Decimal(10), period="2026-11")
    Goal.objects.create(
        name="Acceptance Q4", metric="acceptance_rate", target=Decimal("0.5"), period="2026-Q4"
    )


def test_every_role_lands_on_the_shared_dashboard_with_the_same_numbers(client, marketer, rep, manager):
    build(rep, leads=6)
    pages = []
    for user in (marketer, rep, manager):
        client.force_login(user)
        response = client.get("/")
        assert response.status_code == 200
        pages.append(response.context["tiles"])
        html = response.content.decode()
        assert "Waterfall" in html
        assert "SLA scoreboard" in html
        assert "Trends over twelve months" in html
        assert 'data-testid="tile-mqls">6<' in html
        assert "<svg" in html
        assert "style=" not in html
    assert pages[0] == pages[1] == pages[2]
    assert b"Refresh numbers" in client.get("/").content  # the manager is logged in last
    client.force_login(rep)
    assert b"Refresh numbers" not in client.get("/").content


def test_the_dashboard_opens_on_the_running_month_and_marks_it_so_far_in_the_trends(client, rep):
    build(rep, leads=3)
    client.force_login(rep)
    response = client.get("/")
    assert response.context["filters"].period.key == "2026-11"
    trends = response.context["trends"]
    assert trends.rates.x_ticks[-1].note == "so far"
    assert trends.volume.bars[-1].partial
    assert "so far" in response.content.decode()
    october = client.get("/", {"period": "2026-10"}).context["trends"]
    assert [t.note for t in october.rates.x_ticks] == [""] * 12
    assert not any(bar.partial for bar in october.volume.bars)


def test_a_filter_in_the_url_changes_the_numbers(client, rep):
    build(rep, leads=6)
    journey(created=at(11, 2), source="outbound").to("mql", at(11, 3))
    compute_snapshots(period="2026-11")
    client.force_login(rep)
    everyone = client.get("/", {"period": "2026-11"})
    webinar = client.get("/", {"period": "2026-11", "campaign": "webinar"})
    assert 'data-testid="tile-mqls">7<' in everyone.content.decode()
    assert 'data-testid="tile-mqls">6<' in webinar.content.decode()
    assert "Campaign: Spring webinar" in webinar.content.decode()


def test_a_bad_filter_is_a_400_with_a_message(client, rep):
    build(rep, leads=1)
    client.force_login(rep)
    response = client.get("/", {"period": "2026-13"})
    assert response.status_code == 400
    assert b"Must be a month YYYY-MM" in response.content
    assert client.get("/", {"campaign": "nope"}).status_code == 400


def test_two_scope_filters_show_the_first_and_say_so(client, rep):
    build(rep, leads=3)
    client.force_login(rep)
    response = client.get("/", {"campaign": "webinar", "persona": "ops"})
    assert response.status_code == 200
    assert b"one at a time: showing Campaign: Spring webinar" in response.content


def test_the_dashboard_runs_a_constant_number_of_queries(client, rep, django_assert_max_num_queries):
    build(rep, leads=3)
    client.force_login(rep)
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200
    for _ in range(15):
        journey(created=at(11, 4), source="web", owner=rep).to("mql", at(11, 5))
    compute_snapshots(period="2026-11")
    Goal.objects.create(
        name="More",
        metric="mqls",
        target=Decimal(100),
        period="2026-11",
        scope=resolve_scope("campaign:webinar"),
    )
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("table", ["kpis", "waterfall", "goals", "scoreboard", "trends", "reasons"])
def test_every_dashboard_table_downloads_as_csv(client, marketer, rep, table):
    build(rep, leads=3)
    client.force_login(marketer)
    response = client.get("/", {"period": "2026-11", "format": "csv", "table": table})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) >= 2


def test_csv_cells_are_escaped_against_formula_injection(client, rep, manager):
    build(rep, leads=1)
    Goal.objects.create(name='=HYPERLINK("http://x")', metric="mqls", target=1, period="2026-11")
    client.force_login(manager)
    body = b"".join(client.get("/goals/", {"format": "csv"}).streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    body = b"".join(client.get("/", {"format": "csv", "table": "goals"}).streaming_content).decode(
        "utf-8-sig"
    )
    assert "'=HYPERLINK" in body


def test_the_goals_page_shows_every_goal_with_trend_status_and_drivers(
    client, rep, django_assert_max_num_queries
):
    build(rep, leads=6)
    client.force_login(rep)
    with django_assert_max_num_queries(10):
        response = client.get("/goals/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="goal-review"') == 2
    assert "What drives it" in html
    assert "Twelve-month trend" in html
    assert "New goal" not in html  # reps read, managers edit


@time_machine.travel("2026-12-01 10:00:00Z", tick=False)  # the period list runs from six months back
def test_a_manager_creates_edits_and_deletes_a_goal_with_the_form(client, rep, manager):
    build(rep, leads=1)
    client.force_login(manager)
    response = client.post(
        "/goals/new/", {"name": "MQLs", "metric": "mqls", "target": "40", "period": "2026-11", "scope": "all"}
    )
    assert response.status_code == 302
    goal = Goal.objects.get(name="MQLs")
    bad = client.post(
        f"/goals/{goal.pk}/edit/",
        {"name": "MQLs", "metric": "acceptance_rate", "target": "180 %", "period": "2026-11", "scope": "all"},
    )
    assert bad.status_code == 400
    assert b"A rate is a percentage from 0 to 100" in bad.content
    rate = client.post(
        f"/goals/{goal.pk}/edit/",
        {"name": "MQLs", "metric": "acceptance_rate", "target": "80 %", "period": "2026-11", "scope": "all"},
    )
    assert rate.status_code == 302
    goal.refresh_from_db()
    assert (goal.metric, goal.target) == ("acceptance_rate", Decimal("0.8"))
    assert 'value="80"' in client.get(f"/goals/{goal.pk}/edit/").content.decode()
    client.post(
        f"/goals/{goal.pk}/edit/",
        {"name": "MQLs", "metric": "mqls", "target": "45", "period": "2026-Q4", "scope": "campaign:webinar"},
    )
    goal.refresh_from_db()
    assert (goal.target, goal.period, goal.scope) == (Decimal(45), "2026-Q4", "campaign:webinar")
    assert client.post(f"/goals/{goal.pk}/delete/").status_code == 302
    assert not Goal.objects.filter(pk=goal.pk).exists()


def test_only_managers_may_use_the_goal_form_and_refresh(client, rep, marketer):
    for user in (rep, marketer):
        client.force_login(user)
        assert client.get("/goals/new/").status_code == 403
        assert client.post("/kpis/refresh/", {"period": "2026-11"}).status_code == 403


def test_the_refresh_control_queues_and_reports_when_the_numbers_are_new(
    client, manager, monkeypatch, rep, django_capture_on_commit_callbacks
):
    from alignment.tasks import refresh_kpis_task

    queued = []
    monkeypatch.setattr(refresh_kpis_task, "apply_async", lambda args, kwargs, **_: queued.append(args))
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/kpis/refresh/", {"period": "2026-11"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 202
    assert b"queued" in response.content
    assert b"hx-trigger" in response.content
    assert queued == [(["2026-11"],)]
    since = response.context["since"]
    waiting = client.get("/kpis/refresh/status/", {"period": "2026-11", "since": since})
    assert b"queued" in waiting.content
    with time_machine.travel(datetime(2026, 11, 26, 12, 1, tzinfo=UTC), tick=False):
        build(rep, leads=1)
    done = client.get("/kpis/refresh/status/", {"period": "2026-11", "since": since})
    assert b"Updated" in done.content
    assert b"hx-trigger" not in done.content


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_a_user_without_a_role_is_refused_the_pages(client, nobody):
    client.force_login(nobody)
    assert client.get("/").status_code == 403
    assert client.get("/goals/").status_code == 403


def test_the_admin_refuses_a_goal_on_an_unknown_kpi():
    from alignment.admin import GoalAdminForm

    base = {"name": "x", "target": "1", "period": "2026-11", "scope": "all"}
    form = GoalAdminForm(data={**base, "metric": "vibes"})
    assert not form.is_valid()
    assert "metric" in form.errors
    rate = GoalAdminForm(data={**base, "metric": "acceptance_rate", "target": "80", "period": "2026-13"})
    assert not rate.is_valid()
    assert set(rate.errors) == {"period", "target"}


@pytest.mark.parametrize(
    ("text", "metric", "stored"),
    [
        ("80", "acceptance_rate", Decimal("0.8")),
        ("92.5 %", "sla_compliance", Decimal("0.925")),
        ("1.8 M", "won_amount", Decimal("1800000")),
        ("€ 250k", "pipeline_amount", Decimal("250000")),
        ("1,200", "mqls", Decimal("1200")),
    ],
)
def test_goal_targets_are_typed_and_shown_as_a_person_writes_them(text, metric, stored):
    from alignment.kpi_format import format_target, parse_target

    assert parse_target(text, kpi=metric) == stored
    with pytest.raises(ValueError, match="Write a number"):
        parse_target("lots", kpi=metric)
    assert format_target("won_amount", Decimal("1800000")) == "€ 1.8 M"
    assert format_target("pipeline_amount", Decimal("250000")) == "€ 250 k"
    assert format_target("won_amount", Decimal("9500")) == "€ 9,500"
    assert format_target("acceptance_rate", Decimal("0.8")) == "80 %"


def test_the_goal_form_offers_periods_from_a_list(client, manager):
    client.force_login(manager)
    body = client.get("/goals/new/").content.decode()
    assert '<select name="period"' in body
    assert '<optgroup label="Quarters">' in body
    response = client.post(
        "/goals/new/", {"name": "x", "metric": "mqls", "target": "5", "period": "1999-01", "scope": "all"}
    )
    assert response.status_code == 400
