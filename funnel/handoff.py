"""Hand-off decisions: a rep (or a manager) accepts or rejects a waiting MQL; managers reassign.

A decision is claimed with a conditional UPDATE, so of two concurrent actors exactly one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import record
from core.errors import AppError, Conflict, Forbidden, NotFound, ValidationProblem
from core.models import WebhookEventType
from core.roles import is_manager
from core.text import text_problem
from funnel import alerts
from funnel.deadlines import sla_deadline
from funnel.events import emit_handoff_events
from funnel.models import Handoff, HandoffStatus
from funnel.routing import sales_reps
from leads.models import Lead, RejectReason, Stage, StageKind, Transition
from leads.pipeline import Stages, record_move

K = StageKind
NOTE_MAX = 2000


def _waiting_handoff(*, lead: Lead, actor: Any, stages: Stages) -> Handoff:
    handoff = Handoff.objects.filter(lead=lead, status=HandoffStatus.OPEN).first()
    if handoff is None or stages.kind_of(lead.stage_id) != K.MQL:  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
        raise Conflict("This lead is no longer waiting for a decision.")
    if not (is_manager(actor) or (handoff.rep_id is not None and handoff.rep_id == actor.pk)):
        raise Forbidden("Only the lead's owner or a manager can decide on this hand-off.")
    return handoff


def _close_handoff(*, handoff: Handoff, status: str, actor: Any, now: datetime, **extra: Any) -> bool:
    """Claim the decision with a conditional UPDATE: exactly one of two concurrent actors wins."""
    late = now > handoff.sla_due_at
    claimed = Handoff.objects.filter(pk=handoff.pk, status=HandoffStatus.OPEN).update(
        status=status, closed_at=now, closed_by=actor, late=late, **extra
    )
    if claimed != 1:
        raise Conflict("Someone else decided on this hand-off first.")
    return late


def accept_lead(*, lead_id: int, actor: Any) -> Transition:
    """Accept a hand-off: MQL → SAL. 409 if the lead is no longer waiting; late if past the deadline."""
    stages = Stages.load()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        return accept_locked(
            lead=lead, actor=actor, now=timezone.now(), to_stage=stages.first_of(K.SAL), stages=stages
        )


def accept_locked(*, lead: Lead, actor: Any, now: datetime, to_stage: Stage, stages: Stages) -> Transition:
    """Call inside a transaction holding ``select_for_update`` on lead."""
    handoff = _waiting_handoff(lead=lead, actor=actor, stages=stages)
    late = _close_handoff(handoff=handoff, status=HandoffStatus.ACCEPTED, actor=actor, now=now)
    record(actor=actor, action="lead.accepted", obj=lead, data={"late": late, "rep": handoff.rep_id})
    transition = record_move(
        lead=lead,
        from_stage=stages.by_slug.get(lead.stage_id),  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
        to_stage=to_stage,
        at=now,
        actor=actor,
        reason="Accepted after the deadline." if late else "Accepted.",
        owner=handoff.rep if handoff.rep_id else actor,
    )
    emit_handoff_events(event=WebhookEventType.HANDOFF_ACCEPTED, handoff_ids=[handoff.pk])
    return transition


def reject_lead(*, lead_id: int, actor: Any, reason: str, note: str = "") -> Transition:
    """Reject a hand-off with a reason (and an optional note): MQL → Nurture; marketing sees why."""
    reject_reason = RejectReason.objects.filter(slug=reason, active=True).first()
    if reject_reason is None:
        known = list(RejectReason.objects.filter(active=True).values_list("slug", flat=True))
        raise ValidationProblem({"reason": [f"Choose one of: {', '.join(known)}."]})
    if len(note) > NOTE_MAX:
        raise ValidationProblem({"note": [f"At most {NOTE_MAX} characters."]})
    problem = text_problem(note, multiline=True)
    if problem:
        raise ValidationProblem({"note": [problem]})
    stages = Stages.load()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        now = timezone.now()
        handoff = _waiting_handoff(lead=lead, actor=actor, stages=stages)
        late = _close_handoff(
            handoff=handoff,
            status=HandoffStatus.REJECTED,
            actor=actor,
            now=now,
            reject_reason=reject_reason,
            note=note.strip(),
        )
        why = f"Rejected: {reject_reason.label}" + (" (after the deadline)" if late else "")
        record(
            actor=actor,
            action="lead.rejected",
            obj=lead,
            data={"reason": reject_reason.label, "note": note.strip(), "late": late},
        )
        alerts.lead_rejected(lead=lead, actor=actor, reason_label=reject_reason.label, note=note.strip())
        transition = record_move(
            lead=lead,
            from_stage=stages.by_slug.get(lead.stage_id),  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
            to_stage=stages.first_of(K.NURTURE),
            at=now,
            actor=actor,
            reason=f"{why}. {note.strip()}".strip() if note.strip() else why + ".",
            reject_reason=reject_reason,
            owner=None,
        )
        emit_handoff_events(event=WebhookEventType.HANDOFF_REJECTED, handoff_ids=[handoff.pk])
        return transition


def assign_lead(*, lead_id: int, actor: Any, owner_id: int) -> Lead:
    """A manager hands a lead to another rep. A waiting hand-off is reassigned with a fresh SLA clock."""
    if not is_manager(actor):
        raise Forbidden("Only managers assign leads.")
    rep = sales_reps().filter(pk=owner_id).first()
    if rep is None:
        raise ValidationProblem({"owner": ["Choose an active sales rep."]})
    stages = Stages.load()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        now = timezone.now()
        kind = stages.kind_of(lead.stage_id)  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
        previous = lead.owner_id
        handoff = Handoff.objects.filter(lead=lead, status=HandoffStatus.OPEN).first()
        if handoff is not None and kind == K.MQL:
            reassign_handoff(handoff=handoff, lead=lead, rep_id=rep.pk, actor=actor, now=now, stages=stages)
        elif kind in (K.SAL, K.SQL, K.OPPORTUNITY):
            Lead.objects.filter(pk=lead.pk).update(owner=rep, updated_at=now)
            record(actor=actor, action="lead.assigned", obj=lead, data={"from": previous, "to": rep.pk})
            alerts.handoff_arrived(lead=lead, rep_id=rep.pk, now=now)
        else:
            raise Conflict("Only leads waiting in MQL or in a sales stage can be assigned to a rep.")
        lead.refresh_from_db()
        return lead


BULK_ASSIGN_MAX = 200


@dataclass(frozen=True)
class BulkAssignment:
    assigned: list[int]
    refused: dict[int, AppError]  # lead id → why it was not assigned


def assign_leads(*, lead_ids: Sequence[int], actor: Any, owner_id: int) -> BulkAssignment:
    """A manager hands several leads to one rep: each as ``assign_lead`` does (its own transaction,
    history, audit event and the rep's alert), so one lead decided meanwhile does not stop the others."""
    if not is_manager(actor):
        raise Forbidden("Only managers assign leads.")
    lead_ids = list(dict.fromkeys(lead_ids))
    if not 1 <= len(lead_ids) <= BULK_ASSIGN_MAX:
        raise ValidationProblem({"lead": [f"Choose between 1 and {BULK_ASSIGN_MAX} hand-offs."]})
    if not sales_reps().filter(pk=owner_id).exists():
        raise ValidationProblem({"owner": ["Choose an active sales rep."]})
    existing = set(Lead.objects.filter(pk__in=lead_ids).values_list("pk", flat=True))
    assigned: list[int] = []
    refused: dict[int, AppError] = {}
    for lead_id in lead_ids:
        if lead_id not in existing:
            refused[lead_id] = NotFound("This lead no longer exists.")
            continue
        try:
            assign_lead(lead_id=lead_id, actor=actor, owner_id=owner_id)
        except AppError as error:
            refused[lead_id] = error
        else:
            assigned.append(lead_id)
    return BulkAssignment(assigned=assigned, refused=refused)


def reassign_handoff(
    *,
    handoff: Handoff,
    lead: Lead,
    rep_id: int | None,
    actor: Any,
    now: datetime,
    stages: Stages,
    rule: str = "",
) -> Handoff:
    """Close a waiting hand-off as reassigned and open a new one with a fresh clock.

    Call inside a transaction holding ``select_for_update`` on the lead.
    """
    claimed = Handoff.objects.filter(pk=handoff.pk, status=HandoffStatus.OPEN).update(
        status=HandoffStatus.REASSIGNED,
        closed_at=now,
        closed_by=actor if getattr(actor, "pk", None) else None,
    )
    if claimed != 1:
        raise Conflict("Someone else decided on this hand-off first.")
    due = sla_deadline(stages=stages, now=now)
    new = Handoff.objects.create(lead=lead, rep_id=rep_id, assigned_at=now, sla_due_at=due)
    Lead.objects.filter(pk=lead.pk).update(owner_id=rep_id, sla_due_at=due, updated_at=now)
    emit_handoff_events(event=WebhookEventType.HANDOFF_ASSIGNED, handoff_ids=[new.pk])
    record(
        actor=actor,
        action="handoff.reassigned",
        obj=lead,
        data={"from": handoff.rep_id, "to": rep_id, "sla_due_at": due.isoformat(), "rule": rule},
    )
    alerts.handoff_arrived(lead=lead, rep_id=rep_id, now=now)
    return new
