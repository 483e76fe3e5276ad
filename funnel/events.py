"""Webhook events about hand-offs: the lead and its hand-off, emitted set-based into the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.webhooks import subscribed
from core.webhooks_sql import set_based
from funnel.events_sql import HANDOFF_JSON, OPEN_HANDOFF_JOINS
from funnel.models import Handoff, HandoffStatus
from leads.events import emit_lead_events, emit_lead_events_joined


def handoff_data(handoff: Handoff) -> dict[str, Any]:
    return {
        "id": handoff.pk,
        "rep": handoff.rep_id,
        "status": handoff.status,
        "assigned_at": handoff.assigned_at.isoformat(),
        "sla_due_at": handoff.sla_due_at.isoformat(),
        "breached_at": handoff.breached_at.isoformat() if handoff.breached_at else None,
        "reject_reason": handoff.reject_reason.slug if handoff.reject_reason else None,
        "note": handoff.note,
    }


def emit_handoff_events(
    *, event: str, handoff_ids: Sequence[int] | None = None, lead_ids: Sequence[int] | None = None
) -> int:
    """One ``event`` per hand-off (by id, or the open hand-off of each lead): ``{"lead", "handoff"}``.

    Call inside the transaction of the change, after the hand-offs are written.
    """
    if not (handoff_ids or lead_ids) or not subscribed(event):
        return 0
    if lead_ids and not handoff_ids and set_based():
        # A promotion batch: the events built and written in one statement.
        return emit_lead_events_joined(
            event=event, lead_ids=sorted(set(lead_ids)), extra=HANDOFF_JSON, joins=OPEN_HANDOFF_JOINS
        )
    handoffs = Handoff.objects.select_related("reject_reason")
    if handoff_ids:
        handoffs = handoffs.filter(pk__in=list(handoff_ids))
    else:
        handoffs = handoffs.filter(lead_id__in=list(lead_ids or ()), status=HandoffStatus.OPEN)
    by_lead = {handoff.lead_id: handoff_data(handoff) for handoff in handoffs.order_by("pk")}
    return emit_lead_events(
        event=event, lead_ids=sorted(by_lead), extra={pk: {"handoff": data} for pk, data in by_lead.items()}
    )
