"""Scale-out: two gunicorn servers and two Celery workers (one beat) on one PostgreSQL and one Redis.

Leads arrive at both servers at once; both workers score, promote and route them concurrently; each lead's
rep and a manager accept it at the same moment through different servers; both workers sweep the same SLA
breaches at once and recompute the same KPI snapshots at once. Nothing may happen twice, and the snapshots
must equal what a single process computes from the same data.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
import redis
from django.db.models import Count
from django.utils import timezone

from alignment.models import KpiSnapshot
from alignment.periods import refresh_periods
from alignment.snapshots import compute_snapshots
from core.models import Notification
from core.tokens import issue_token
from funnel.models import Handoff
from leads.models import Lead, Transition
from tests.conftest import needs_postgres, needs_redis
from tests.factories import UserFactory
from tests.faults.stack import Stack, wait_until

logging.getLogger("httpx").setLevel(logging.WARNING)

pytestmark = [
    pytest.mark.campaign,
    needs_postgres,
    needs_redis,
    pytest.mark.django_db(transaction=True),  # the reference rows come back through tests/conftest.py
]

LEADS = 400
BATCH = 50
LATE = 100  # hand-offs left open and then made overdue, for the SLA sweep
SWEEPS_AT_ONCE = 6


def lead(i: int) -> dict:
    """A qualified decision-maker (fit 50, grade A): with a demo request, score 80, an MQL."""
    return {
        "email": f"scale-{i:04d}@scale.example",
        "last_name": f"Scale {i}",
        "company": f"Company {i % 13}",
        "seniority": "director",
        "is_decision_maker": True,
        "company_size": 500,
        "country": "DE",
        "source": "outbound" if i % 4 == 0 else "web",
    }


def push(base: str, token: str, numbers: range, occurred_at: str) -> Counter:
    statuses: Counter = Counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for start in range(numbers.start, numbers.stop, BATCH):
            chunk = range(start, min(start + BATCH, numbers.stop))
            answer = http.post("/api/v1/leads/batch/", json={"leads": [lead(i) for i in chunk]})
            statuses[answer.status_code] += 1
            assert answer.status_code == 200, answer.text[:300]
            assert answer.json()["errors"] == 0
            activities = [
                {"email": lead(i)["email"], "type": "demo_request", "occurred_at": occurred_at} for i in chunk
            ]
            answer = http.post("/api/v1/activities/batch/", json={"activities": activities})
            statuses[answer.status_code] += 1
            assert answer.status_code == 200, answer.text[:300]
            assert answer.json()["errors"] == 0
    return statuses


def queue_drained(url: str) -> bool:
    """No message waiting in the default queue and none taken but unacknowledged."""
    client = redis.Redis.from_url(url)
    try:
        return client.llen("celery") == 0 and client.hlen("unacked") == 0
    finally:
        client.close()


def snapshot_values(periods: list[str]) -> dict[tuple, object]:
    return {
        (period, kind, ref, metric): value
        for period, kind, ref, metric, value in KpiSnapshot.objects.filter(period__in=periods).values_list(
            "period", "scope_kind", "scope_ref", "metric", "value"
        )
    }


def test_two_servers_and_two_workers_hand_off_accept_alert_and_count_each_thing_once(tmp_path):
    marketer = UserFactory(username="scale-marketer", roles=["marketing"])
    reps = [UserFactory(username=f"scale-rep-{n}", roles=["sales"]) for n in (1, 2)]
    manager = UserFactory(username="scale-manager", roles=["managers"])
    ingest = issue_token(user=marketer, name="ingest", scopes=["ingest"]).secret
    tokens = {
        user.pk: issue_token(user=user, name="act", scopes=["read", "write"]).secret
        for user in [*reps, manager]
    }
    occurred_at = (timezone.now() - timedelta(hours=1)).isoformat()

    stack = Stack(tmp_path, sweep_seconds=5)
    try:
        stack.start_redis()
        servers = [stack.start_gunicorn("web-a"), stack.start_gunicorn("web-b")]
        stack.start_worker("worker-1")
        stack.start_worker("worker-2")
        stack.start_beat()

        # Leads arrive at both servers at once; both workers score, promote and route them.
        half = LEADS // 2
        with ThreadPoolExecutor(2) as pool:
            pushed = list(
                pool.map(
                    lambda args: push(args[0], ingest, args[1], occurred_at),
                    [(servers[0], range(0, half)), (servers[1], range(half, LEADS))],
                )
            )
        assert sum(pushed, Counter()) == Counter({200: 2 * LEADS // BATCH})
        wait_until(
            lambda: Handoff.objects.count() >= LEADS, timeout=120, interval=0.5, what="every lead handed off"
        )
        wait_until(lambda: queue_drained(stack.redis_url), timeout=60, what="the workers to finish")

        assert Handoff.objects.count() == LEADS
        assert not Handoff.objects.values("lead").annotate(n=Count("id")).filter(n__gt=1).exists()
        mql = Transition.objects.filter(to_stage__kind="mql").values("lead").annotate(n=Count("id"))
        assert mql.count() == LEADS
        assert not mql.filter(n__gt=1).exists()
        per_rep = Counter(Handoff.objects.values_list("rep_id", flat=True))
        assert set(per_rep) == {r.pk for r in reps}
        assert abs(per_rep[reps[0].pk] - per_rep[reps[1].pk]) <= 1  # the rotation stayed fair

        # Each lead's rep (through one server) and a manager (through the other) accept it at the same time.
        handoffs = list(Handoff.objects.order_by("lead_id").values_list("lead_id", "rep_id"))
        to_accept, to_breach = handoffs[:-LATE], handoffs[-LATE:]
        clients = {
            (pk, n): httpx.Client(base_url=servers[n], headers={"Authorization": f"Bearer {t}"}, timeout=60)
            for pk, t in tokens.items()
            for n in (0, 1)
        }
        try:

            def race(item: tuple[int, int]) -> tuple[int, list[int]]:
                lead_id, rep_id = item
                barrier = threading.Barrier(2)

                def accept(user_id: int, server: int) -> int:
                    barrier.wait(timeout=30)
                    return clients[(user_id, server)].post(f"/api/v1/leads/{lead_id}/accept/").status_code

                with ThreadPoolExecutor(2) as both:
                    mine = both.submit(accept, rep_id, lead_id % 2)
                    boss = both.submit(accept, manager.pk, 1 - lead_id % 2)
                    return lead_id, sorted([mine.result(), boss.result()])

            with ThreadPoolExecutor(6) as pool:
                outcomes = dict(pool.map(race, to_accept))
        finally:
            for client in clients.values():
                client.close()
        assert {lead_id: statuses for lead_id, statuses in outcomes.items() if statuses != [200, 409]} == {}
        sal = Transition.objects.filter(to_stage__kind="sal").values("lead").annotate(n=Count("id"))
        assert sal.count() == len(to_accept)
        assert not sal.filter(n__gt=1).exists()
        assert Handoff.objects.filter(status="accepted").count() == len(to_accept)

        # The last hand-offs go overdue; both workers sweep for breaches at once, several times over.
        late_ids = [lead_id for lead_id, _ in to_breach]
        past = timezone.now() - timedelta(minutes=5)
        Handoff.objects.filter(lead_id__in=late_ids).update(sla_due_at=past)
        Lead.objects.filter(pk__in=late_ids).update(sla_due_at=past)
        for _ in range(SWEEPS_AT_ONCE):
            stack.send_task("funnel.tasks.mark_sla_breaches_task")
        wait_until(
            lambda: Handoff.objects.filter(lead_id__in=late_ids, breached_at__isnull=False).count() == LATE,
            timeout=60,
            what="every overdue hand-off marked as breached",
        )
        wait_until(lambda: queue_drained(stack.redis_url), timeout=60, what="the breach sweeps to finish")
        alerts = Notification.objects.filter(message__startswith="SLA breached")
        per_recipient = alerts.values("user", "url").annotate(n=Count("id"))
        assert not per_recipient.filter(n__gt=1).exists()
        assert alerts.count() == LATE * 2  # the rep and the one manager, once per breach
        assert set(alerts.values_list("user", flat=True)) == {manager.pk, *(r.pk for r in reps)}

        # Both workers recompute the same KPI snapshots at the same time.
        periods = [p.key for p in refresh_periods()]
        sent_at = timezone.now()
        for _ in range(2):
            stack.send_task("alignment.tasks.refresh_kpis_task", periods=periods)
        wait_until(
            lambda: (
                KpiSnapshot.objects.filter(period__in=periods, computed_at__gte=sent_at).exists()
                and queue_drained(stack.redis_url)
            ),
            timeout=120,
            what="the KPI refreshes to finish",
        )
    except BaseException:
        print(stack.logs())
        raise
    finally:
        stack.close()

    from_workers = snapshot_values(periods)
    assert from_workers
    for period in periods:
        compute_snapshots(period=period)
    single = snapshot_values(periods)
    assert from_workers == single
    month = periods[0]
    assert from_workers[(month, "all", 0, "mqls")] == LEADS
    assert from_workers[(month, "all", 0, "sals")] == len(to_accept)
