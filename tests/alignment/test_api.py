from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from alignment.models import Goal, KpiSnapshot
from alignment.scopes import ALL
from alignment.snapshots import compute_snapshots
from alignment.tasks import refresh_kpis_task
from core.models import AuditEvent
from tests.alignment.pipeline import at, journey
from tests.conftest import client_for
from tests.factories import CampaignFactory

API_KEYS = [
    "new_leads", "mqls", "sals", "sqls", "opportunities", "won", "lost", "acceptance_rate", "rejection_rate",
    "mql_to_sql_rate", "win_rate", "sla_compliance", "median_hours_to_accept", "median_days_mql_to_won",
    "pipeline_amount", "won_amount", "marketing_sourced_won_amount", "cost_per_mql", "cost_per_sql",
    "funnel_depth_credit", "reject_reasons", "lost_reasons",
]  # fmt: skip


@pytest.fixture
def november(db, rep):
    campaign = CampaignFactory(slug="webinar")
    lead = journey(created=at(11, 1), campaign=campaign, source="web", owner=rep)
    lead.to("mql", at(11, 2)).to("sal", at(11, 3))
    journey(created=at(11, 5), source="outbound").to("mql", at(11, 6))
    compute_snapshots(period="2026-11", now=at(12, 1))


def is_problem(response, status: int) -> bool:
    return response.status_code == status and response["Content-Type"].startswith("application/problem+json")


# --- KPIs ---------------------------------------------------------------------------------------------------
def test_definitions_list_exactly_the_contracts_kpi_keys(rep):
    response = client_for(rep).get("/api/v1/kpis/definitions/")
    assert response.status_code == 200
    assert [d["key"] for d in response.json()] == API_KEYS
    assert all(d["label"] and d["unit"] and d["description"] for d in response.json())


def test_kpis_of_a_period_and_scope_come_from_the_snapshots(november, marketer):
    response = client_for(marketer).get("/api/v1/kpis/", {"period": "2026-11", "scope": "campaign:webinar"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "2026-11"
    assert body["scope"] == "campaign:webinar"
    assert body["computed_at"] == "2026-12-01T10:00:00Z"
    assert list(body["metrics"]) == API_KEYS
    assert body["metrics"]["mqls"] == 1
    assert body["metrics"]["acceptance_rate"] == 1.0

    everyone = client_for(marketer).get("/api/v1/kpis/", {"period": "2026-11"}).json()
    assert everyone["scope"] == "all"
    assert everyone["metrics"]["mqls"] == 2
    assert everyone["metrics"]["acceptance_rate"] == 0.5


def test_a_period_never_computed_has_null_values(november, rep):
    body = client_for(rep).get("/api/v1/kpis/", {"period": "2026-Q1"}).json()
    assert body["computed_at"] is None
    assert set(body["metrics"].values()) == {None}


@pytest.mark.parametrize(
    "params",
    [
        {"period": "2026-13"},
        {"period": "2026-Q5"},
        {"period": "26-11"},
        {"period": "2026-11-01"},
        {"period": ""},
        {"period": "1899-01"},
        {"period": "2026-11", "scope": "campaign:nope"},
        {"period": "2026-11", "scope": "market:dach"},
        {"period": "2026-11", "scope": "rep:me"},
        {"period": "2026-11", "scope": "rep:99999999"},
        {"period": "2026-11", "colour": "blue"},
    ],
)
def test_bad_period_or_scope_is_a_400_problem(november, rep, params):
    response = client_for(rep).get("/api/v1/kpis/", params)
    assert is_problem(response, 400)
    assert set(response.json()["errors"]) <= {"period", "scope", "colour"}


def test_kpis_need_a_role_and_a_read_scope(november, nobody, marketer, anonymous):
    assert anonymous.get("/api/v1/kpis/").status_code == 401
    assert is_problem(client_for(nobody).get("/api/v1/kpis/"), 403)
    assert is_problem(client_for(marketer, scopes=["ingest"]).get("/api/v1/kpis/"), 403)
    assert client_for(marketer, scopes=["read"]).get("/api/v1/kpis/").status_code == 200


def test_a_manager_queues_a_refresh_and_gets_202(manager, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(refresh_kpis_task, "apply_async", lambda args, kwargs, **_: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).post("/api/v1/kpis/refresh/", {"periods": ["2026-11"]}, format="json")
    assert response.status_code == 202
    assert response.json() == {"periods": ["2026-11"]}
    assert queued == [(["2026-11"],)]
    assert AuditEvent.objects.filter(action="kpis.refresh_requested", actor=manager).count() == 1


def test_a_refresh_without_periods_queues_the_current_and_previous_ones(manager, monkeypatch):
    queued = []
    monkeypatch.setattr(refresh_kpis_task, "apply_async", lambda args, kwargs, **_: queued.append(args))
    with time_machine.travel(datetime(2026, 11, 26, 12, tzinfo=UTC)):
        response = client_for(manager).post("/api/v1/kpis/refresh/", {}, format="json")
    assert response.status_code == 202
    assert response.json()["periods"] == ["2026-11", "2026-10", "2026-Q4", "2026-Q3"]


def test_only_managers_may_refresh_and_bad_input_is_a_400(manager, marketer, rep):
    assert is_problem(client_for(marketer).post("/api/v1/kpis/refresh/", {}, format="json"), 403)
    assert is_problem(client_for(rep).post("/api/v1/kpis/refresh/", {}, format="json"), 403)
    client = client_for(manager)
    assert is_problem(client.post("/api/v1/kpis/refresh/", {"periods": ["2026-13"]}, format="json"), 400)
    assert is_problem(client.post("/api/v1/kpis/refresh/", {"period": "2026-11"}, format="json"), 400)
    assert is_problem(client.post("/api/v1/kpis/refresh/", ["x"], format="json"), 400)


def test_the_refresh_task_recomputes_the_current_and_previous_month_and_quarter(november):
    with time_machine.travel(datetime(2026, 12, 2, 12, tzinfo=UTC)):
        refresh_kpis_task()
    periods = set(KpiSnapshot.objects.values_list("period", flat=True))
    assert periods == {"2026-12", "2026-11", "2026-Q4", "2026-Q3"}
    assert KpiSnapshot.objects.get(period="2026-Q4", scope_kind="all", metric="mqls").value == 2


def test_the_refresh_task_skips_invalid_periods(november):
    refresh_kpis_task(["nonsense", "2026-10"])
    assert set(KpiSnapshot.objects.values_list("period", flat=True)) == {"2026-11", "2026-10"}


# --- Goals --------------------------------------------------------------------------------------------------
GOAL = {"name": "SQLs in November", "metric": "sqls", "target": 40, "period": "2026-11", "scope": "all"}


def test_a_manager_creates_a_goal_and_everyone_reads_it_with_progress(november, manager, rep, marketer):
    response = client_for(manager).post("/api/v1/goals/", GOAL, format="json")
    assert response.status_code == 201, response.json()
    goal = Goal.objects.get()
    assert (goal.metric, goal.target, goal.period) == ("sqls", Decimal("40"), "2026-11")
    assert AuditEvent.objects.filter(action="goal.created", object_id=str(goal.pk)).exists()

    for user in (rep, marketer):
        with time_machine.travel(datetime(2026, 12, 5, tzinfo=UTC)):
            body = client_for(user).get(f"/api/v1/goals/{goal.pk}/").json()
        assert body["name"] == "SQLs in November"
        assert body["target"] == 40
        # November is over and no lead became an SQL: 0 of 40, expected all of it.
        assert body["progress"] == {"value": 0, "ratio": 0.0, "expected_ratio": 1.0, "status": "off_track"}


def test_goal_progress_paces_a_count_linearly_through_the_period(november, manager):
    Goal.objects.create(name="MQLs", metric="mqls", target=Decimal("3"), period="2026-11")
    # Snapshot: 2 MQLs. On 16 November 00:00 half the month has passed: pace 1.5, so 2 is on track.
    with time_machine.travel(datetime(2026, 11, 16, tzinfo=UTC)):
        body = client_for(manager).get("/api/v1/goals/").json()["results"]
    assert body[0]["progress"] == {"value": 2, "ratio": 0.6667, "expected_ratio": 0.5, "status": "on_track"}


def test_goals_are_read_with_a_constant_number_of_queries(november, manager, django_assert_max_num_queries):
    client = client_for(manager)
    for index in range(3):
        Goal.objects.create(name=f"G{index}", metric="mqls", target=10, period="2026-11")
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/goals/").json()["results"]) == 3
    for index in range(20):
        Goal.objects.create(name=f"H{index}", metric="sqls", target=10, period="2026-10", scope=ALL)
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/goals/").json()["results"]) == 23


def test_goals_filter_by_period_and_metric(november, rep):
    Goal.objects.create(name="A", metric="mqls", target=10, period="2026-11")
    Goal.objects.create(name="B", metric="sqls", target=10, period="2026-10")
    client = client_for(rep)
    assert [g["name"] for g in client.get("/api/v1/goals/", {"period": "2026-10"}).json()["results"]] == ["B"]
    assert [g["name"] for g in client.get("/api/v1/goals/", {"metric": "mqls"}).json()["results"]] == ["A"]
    assert is_problem(client.get("/api/v1/goals/", {"period": "november"}), 400)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "happiness"}, "metric"),
        ({"metric": "reject_reasons"}, "metric"),
        ({"period": "2026-11-01"}, "period"),
        ({"period": "2026-Q0"}, "period"),
        ({"scope": "campaign:nope"}, "scope"),
        ({"target": -1}, "target"),
        ({"target": "many"}, "target"),
        ({"metric": "acceptance_rate", "target": 80}, "target"),
        ({"name": "x" * 121}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"owner": "me"}, "owner"),
        ({"progress": {"status": "on_track"}}, "progress"),
        ({"id": 5}, "id"),
    ],
)
def test_goal_input_is_validated(november, manager, change, field):
    response = client_for(manager).post("/api/v1/goals/", {**GOAL, **change}, format="json")
    assert is_problem(response, 400)
    assert field in response.json()["errors"]
    assert not Goal.objects.exists()


def test_a_manager_patches_and_deletes_a_goal(november, manager):
    goal = Goal.objects.create(name="Rate", metric="acceptance_rate", target=Decimal("0.8"), period="2026-11")
    client = client_for(manager)

    response = client.patch(f"/api/v1/goals/{goal.pk}/", {"target": 0.4}, format="json")
    assert response.status_code == 200
    assert response.json()["progress"]["status"] == "on_track"  # 0.5 accepted against 0.4
    goal.refresh_from_db()
    assert goal.target == Decimal("0.4")
    assert is_problem(client.patch(f"/api/v1/goals/{goal.pk}/", {"target": 2}, format="json"), 400)
    assert is_problem(client.put(f"/api/v1/goals/{goal.pk}/", GOAL, format="json"), 405)

    assert client.delete(f"/api/v1/goals/{goal.pk}/").status_code == 204
    assert not Goal.objects.exists()
    assert is_problem(client.get(f"/api/v1/goals/{goal.pk}/"), 404)


def test_only_managers_write_goals(november, marketer, rep, nobody):
    goal = Goal.objects.create(name="MQLs", metric="mqls", target=10, period="2026-11")
    for user in (marketer, rep):
        client = client_for(user)
        assert is_problem(client.post("/api/v1/goals/", GOAL, format="json"), 403)
        assert is_problem(client.patch(f"/api/v1/goals/{goal.pk}/", {"target": 1}, format="json"), 403)
        assert is_problem(client.delete(f"/api/v1/goals/{goal.pk}/"), 403)
    assert is_problem(client_for(nobody).get("/api/v1/goals/"), 403)
    assert Goal.objects.get().target == 10


def test_a_repeated_goal_post_with_the_same_idempotency_key_creates_one_goal(november, manager):
    client = client_for(manager)
    first = client.post("/api/v1/goals/", GOAL, format="json", HTTP_IDEMPOTENCY_KEY="goal-1")
    again = client.post("/api/v1/goals/", GOAL, format="json", HTTP_IDEMPOTENCY_KEY="goal-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Goal.objects.count() == 1
