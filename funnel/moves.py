"""A user moves a lead: the pipeline's move, plus what it means for the hand-off.

Entering MQL hands the lead to sales (routing); leaving MQL any other way than accept or reject withdraws the
open hand-off; moving from MQL to SAL is an accept.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import record
from core.errors import Forbidden
from funnel.handoff import accept_locked
from funnel.models import Handoff, HandoffStatus
from funnel.routing import route_locked_lead
from leads.models import Lead, StageKind, Transition
from leads.pipeline import CLOSED, SALES_WORKED, Stages, check_move, move_refusal, record_move

K = StageKind


def move_lead(
    *,
    lead_id: int,
    to_slug: str,
    actor: Any,
    reason: str = "",
    amount: Decimal | None = None,
    lost_reason: str = "",
) -> Transition:
    """Move a lead to another stage, as a user; a move to Lost names a lost reason (its slug)."""
    stages = Stages.load()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        from_stage, to_stage, lost = check_move(
            lead=lead, to_slug=to_slug, amount=amount, stages=stages, lost_reason=lost_reason
        )
        refusal = move_refusal(user=actor, lead=lead, from_stage=from_stage, to_stage=to_stage)
        if refusal:
            raise Forbidden(refusal)
        now = timezone.now()
        from_kind = from_stage.kind if from_stage else K.INQUIRY
        if from_kind == K.MQL and to_stage.kind == K.SAL:
            return accept_locked(lead=lead, actor=actor, now=now, to_stage=to_stage, stages=stages)
        if from_kind == K.MQL:
            Handoff.objects.filter(lead=lead, status=HandoffStatus.OPEN).update(
                status=HandoffStatus.WITHDRAWN, closed_at=now, closed_by=actor
            )
        owner: Any = ...
        # A closed deal stays with the rep who closed it (their board, their numbers); a lead handed back
        # to marketing belongs to no rep.
        if to_stage.kind not in SALES_WORKED | CLOSED:
            owner = None
        transition = record_move(
            lead=lead,
            from_stage=from_stage,
            to_stage=to_stage,
            at=now,
            actor=actor,
            reason=reason,
            amount=amount,
            lost_reason=lost,
            owner=owner,
        )
        record(
            actor=actor,
            action="lead.moved",
            obj=lead,
            data={
                "from": from_stage.name if from_stage else "",
                "to": to_stage.name,
                "reason": reason,
                **({"amount": str(amount)} if amount is not None else {}),
            },
        )
        if to_stage.kind == K.MQL:
            route_locked_lead(lead=lead, now=now, stages=stages)
        return transition
