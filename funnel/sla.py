"""The follow-up SLA: mark breached hand-offs once, tell the rep and the managers, optionally escalate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.models import NotificationKind, WebhookEventType
from core.notifications import Alert, notify_each
from funnel.events import emit_handoff_events
from funnel.handoff import reassign_handoff
from funnel.models import FunnelSettings, Handoff, HandoffStatus
from funnel.routing import load_router, managers, save_router
from leads.models import Lead
from leads.pipeline import Stages

BREACH_BATCH = 1000


def mark_breaches(*, now: datetime | None = None, batch_size: int = BREACH_BATCH) -> list[int]:
    """Mark every open hand-off past its deadline as breached, exactly once, and alert; returns their ids.

    TRICKY: two sweeps may run at once. Each claims rows ``FOR UPDATE SKIP LOCKED`` and then marks them with
    a conditional UPDATE (``breached_at IS NULL``), so a breach is marked, notified and escalated once.
    """
    now = now or timezone.now()
    breached: list[int] = []
    while True:
        batch = _mark_batch(now=now, batch_size=batch_size)
        breached.extend(batch)
        if len(batch) < batch_size:
            return breached


def _mark_batch(*, now: datetime, batch_size: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            Handoff.objects.filter(status=HandoffStatus.OPEN, breached_at=None, sla_due_at__lte=now)
            .order_by("sla_due_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return []
        Handoff.objects.filter(pk__in=ids, status=HandoffStatus.OPEN, breached_at=None).update(
            breached_at=now
        )
        handoffs = list(Handoff.objects.filter(pk__in=ids).select_related("lead", "rep"))
        _notify(handoffs=handoffs, now=now)
        emit_handoff_events(event=WebhookEventType.SLA_BREACHED, handoff_ids=ids)
    if FunnelSettings.load().escalate_breaches:
        escalate_breaches(handoff_ids=ids, now=now)
    return ids


def _breach_message(handoff: Handoff) -> str:
    lead = handoff.lead
    who = handoff.rep.get_full_name() or handoff.rep.username if handoff.rep else "the unassigned queue"
    return (
        f"SLA breached: {lead.name or lead.email} ({lead.company or 'no company'}) "
        f"waited past the deadline with {who}."
    )[:500]


def _notify(*, handoffs: Sequence[Handoff], now: datetime) -> None:
    """Tell the rep and the managers (the escalation path) in one insert; e-mail follows each one's
    preference (queued by ``notify`` after commit)."""
    manager_ids = [m.pk for m in managers()]
    alerts: list[Alert] = []
    for handoff in handoffs:
        url = reverse("leads:detail", args=[handoff.lead_id])
        message = _breach_message(handoff)
        recipients = {*manager_ids, *([handoff.rep_id] if handoff.rep_id else [])}
        alerts.extend(Alert(user_id=uid, message=message, url=url) for uid in sorted(recipients))
    notify_each(kind=NotificationKind.SLA_BREACHED, alerts=alerts, now=now)


@transaction.atomic
def escalate_breaches(*, handoff_ids: Sequence[int], now: datetime) -> int:
    """Reassign each breached hand-off to the next rep (not the one who let it lapse), with a fresh clock.

    Locks the leads first, then the routing state, as every other use-case does (no deadlock); hand-offs
    decided in the meantime are left alone.
    """
    stages = Stages.load()
    lead_ids = list(Handoff.objects.filter(pk__in=handoff_ids).values_list("lead_id", flat=True))
    leads = {
        lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk")
    }
    handoffs = list(
        Handoff.objects.filter(pk__in=handoff_ids, status=HandoffStatus.OPEN).exclude(breached_at=None)
    )
    router = load_router()
    moved = 0
    for handoff in handoffs:
        lead = leads.get(handoff.lead_id)
        if lead is None:
            continue
        rep_id = router.pick(lead.country or "", exclude=handoff.rep_id)
        if rep_id is None and handoff.rep_id is None:
            continue  # already in the unassigned queue: nobody to escalate to
        reassign_handoff(
            handoff=handoff,
            lead=lead,
            rep_id=rep_id,
            actor=None,
            now=now,
            stages=stages,
            rule="sla-escalation",
        )
        moved += 1
    save_router(router)
    return moved
