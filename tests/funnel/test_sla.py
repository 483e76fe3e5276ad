from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from core.models import AuditEvent, Notification
from core.tasks import email_notifications_task
from funnel import promotion, sla
from funnel.models import FunnelSettings, Handoff
from funnel.tasks import mark_sla_breaches_task
from leads.models import Lead
from tests.conftest import client_for
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_emails(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "core.notifications.enqueue_on_commit",
        lambda task, **kw: sent.append((getattr(task, "name", task), kw)),
    )
    return sent


@pytest.fixture
def waiting(scoring_model, rep, manager):
    lead = qualified()
    with time_machine.travel("2026-05-04 08:00:00Z", tick=False):
        promotion.promote_qualified_leads()
    lead.refresh_from_db()
    return lead


def test_a_hand_off_is_not_breached_before_its_deadline(waiting, queued_emails):
    queued_emails.clear()  # the hand-off's own alert to the rep
    with time_machine.travel("2026-05-05 07:59:00Z", tick=False):
        assert sla.mark_breaches() == []
    assert Handoff.objects.get(lead=waiting).breached_at is None
    assert queued_emails == []


def test_a_breach_is_marked_once_and_tells_the_rep_and_the_managers(waiting, rep, manager, queued_emails):
    h = Handoff.objects.get(lead=waiting)
    Notification.objects.all().delete()
    queued_emails.clear()
    with time_machine.travel("2026-05-05 08:01:00Z", tick=False):
        assert sla.mark_breaches() == [h.pk]
        assert sla.mark_breaches() == []
        assert mark_sla_breaches_task() == 0
    h.refresh_from_db()
    assert h.breached_at.isoformat() == "2026-05-05T08:01:00+00:00"
    assert h.status == "open"  # still waiting: accept or reject later is recorded as late
    notes = Notification.objects.all()
    assert sorted(n.user_id for n in notes) == sorted([rep.pk, manager.pk])
    assert all("SLA breached" in n.message and n.url == f"/leads/{waiting.pk}/" for n in notes)
    assert {n.kind for n in notes} == {"sla.breached"}
    ids = sorted(n.pk for n in notes)
    assert queued_emails == [("core.tasks.email_notifications_task", {"notification_ids": ids})]


def test_breach_emails_go_to_the_rep_and_the_managers_once(waiting, rep, manager):
    Notification.objects.all().delete()
    with time_machine.travel("2026-05-05 08:01:00Z", tick=False):
        sla.mark_breaches()
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert email_notifications_task(ids) == 2
    assert email_notifications_task(ids) == 0  # each alert is e-mailed once
    assert sorted(m.to[0] for m in mail.outbox) == sorted([rep.email, manager.email])
    assert all(m.subject.startswith("SLA breached") for m in mail.outbox)


def test_a_late_accept_after_a_breach_still_works_and_is_late(waiting, rep, queued_emails):
    with time_machine.travel("2026-05-06 09:00:00Z", tick=False):
        sla.mark_breaches()
        assert client_for(rep).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 200
    h = Handoff.objects.get(lead=waiting)
    assert (h.status, h.late, h.breached_at is not None) == ("accepted", True, True)


def test_without_escalation_the_breached_hand_off_stays_with_its_rep(waiting, rep, other_rep, queued_emails):
    with time_machine.travel("2026-05-06 09:00:00Z", tick=False):
        sla.mark_breaches()
    assert Lead.objects.get(pk=waiting.pk).owner_id == rep.pk
    assert Handoff.objects.filter(lead=waiting).count() == 1


def test_escalation_reassigns_to_the_next_rep_with_a_fresh_clock(waiting, rep, other_rep, queued_emails):
    FunnelSettings.objects.update_or_create(pk=1, defaults={"escalate_breaches": True})
    with time_machine.travel("2026-05-06 09:00:00Z", tick=False):
        sla.mark_breaches()
        assert sla.mark_breaches() == []  # the fresh hand-off is not due yet
    waiting.refresh_from_db()
    assert waiting.owner_id == other_rep.pk
    assert waiting.sla_due_at.isoformat() == "2026-05-07T09:00:00+00:00"
    rows = list(
        Handoff.objects.filter(lead=waiting).order_by("pk").values_list("rep_id", "status", "breached_at")
    )
    assert [(r, s, b is not None) for r, s, b in rows] == [
        (rep.pk, "reassigned", True),
        (other_rep.pk, "open", False),
    ]
    event = AuditEvent.objects.get(action="handoff.reassigned")
    assert event.actor is None
    assert event.data["rule"] == "sla-escalation"
    assert client_for(rep).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 403
    assert client_for(other_rep).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 200
