"""Two actors at once: exactly one wins. Real threads, real PostgreSQL row locks."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from funnel import promotion
from funnel.models import Handoff
from leads.models import Lead, Transition
from scoring.models import ScoringModel
from tests.conftest import client_for, needs_postgres
from tests.factories import LeadFactory, UserFactory

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(*calls):
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def waiting_lead(rep, manager):
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )[0]
    lead = LeadFactory(score=90, grade="A")
    promotion.promote_qualified_leads()
    lead.refresh_from_db()
    assert lead.owner_id == rep.pk
    return lead


def test_a_rep_and_a_manager_accepting_at_once_one_wins_the_other_gets_409(waiting_lead, rep, manager):
    url = f"/api/v1/leads/{waiting_lead.pk}/accept/"
    statuses = run_at_once(
        lambda: client_for(rep).post(url).status_code, lambda: client_for(manager).post(url).status_code
    )
    assert sorted(statuses) == [200, 409]
    assert Transition.objects.filter(lead=waiting_lead, to_stage__slug="sal").count() == 1
    assert Handoff.objects.get(lead=waiting_lead).status == "accepted"


def test_an_accept_racing_a_reject_leaves_exactly_one_decision(waiting_lead, rep, manager):
    base = f"/api/v1/leads/{waiting_lead.pk}"
    statuses = run_at_once(
        lambda: client_for(rep).post(f"{base}/accept/").status_code,
        lambda: client_for(manager).post(f"{base}/reject/", {"reason": "no-need"}, format="json").status_code,
    )
    assert sorted(statuses) == [200, 409]
    decided = Handoff.objects.get(lead=waiting_lead)
    waiting_lead.refresh_from_db()
    assert (decided.status, waiting_lead.stage_id) in {("accepted", "sal"), ("rejected", "nurture")}
    assert (
        Transition.objects.filter(lead=waiting_lead).exclude(to_stage__slug__in=["inquiry", "mql"]).count()
        == 1
    )


def test_workers_promoting_at_once_hand_each_lead_once_and_keep_the_rotation_fair(db):
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )[0]
    reps = [UserFactory(username=f"r{i}", roles=["sales"]) for i in range(3)]
    leads = [LeadFactory(score=90, grade="A") for _ in range(60)]
    ids = [lead.pk for lead in leads]
    made = run_at_once(
        lambda: promotion.promote_qualified_leads(lead_ids=ids, batch_size=7),
        lambda: promotion.promote_qualified_leads(lead_ids=list(reversed(ids)), batch_size=7),
        lambda: promotion.promote_qualified_leads(batch_size=7),
    )
    assert sum(made) == 60
    assert Handoff.objects.count() == 60
    assert Transition.objects.filter(to_stage__slug="mql").count() == 60
    per_rep = Counter(Lead.objects.values_list("owner_id", flat=True))
    assert set(per_rep) == {r.pk for r in reps}
    assert max(per_rep.values()) - min(per_rep.values()) <= 1


def test_two_sla_sweeps_at_once_mark_and_notify_each_breach_once(waiting_lead, rep, manager, monkeypatch):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from core.models import Notification
    from funnel import sla

    monkeypatch.setattr("core.notifications.enqueue_on_commit", lambda task, **kw: None)
    more = [LeadFactory(score=90, grade="A") for _ in range(20)]
    promotion.promote_qualified_leads()
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        marked = run_at_once(lambda: sla.mark_breaches(batch_size=3), lambda: sla.mark_breaches(batch_size=3))
    assert sorted(marked[0] + marked[1]) == sorted(Handoff.objects.values_list("pk", flat=True))
    assert not set(marked[0]) & set(marked[1])
    assert Notification.objects.filter(user=manager, kind="sla.breached").count() == len(more) + 1
