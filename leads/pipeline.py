"""The pipeline aggregate: the stages a lead may move between, and the one writer of a lead's stage.

Every move writes a ``Transition`` (from, to, when, who or which rule, why, amount) and keeps ``Lead.stage``
(and the lead's owner and deadline) current; nothing else writes them. Moves that make sense are decided on
stage *kinds*, so stages that managers add behave like the seeded stage of their kind. What a lead *reached*
and how long it stayed are read from its transitions. Hand-off, routing and SLA (the funnel) build on this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.errors import ValidationProblem
from core.models import WebhookEventType
from core.roles import MANAGERS, roles_of
from core.webhooks import subscribed
from core.webhooks_sql import set_based
from leads import pipeline_sql
from leads.events import emit_lead_events, emit_lead_events_joined
from leads.models import Lead, LostReason, Stage, StageKind, Team, Transition
from leads.pipeline_sql import BulkMove

K = StageKind
# Where a lead of each kind may go next. Backward moves that make sense are here too (Nurture → MQL when a
# recycled lead is ready again, SQL → Nurture when the timing is wrong, Lost → Nurture to recycle).
ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    K.INQUIRY: (K.MQL, K.NURTURE),
    K.MQL: (K.SAL, K.NURTURE, K.INQUIRY),
    K.SAL: (K.SQL, K.NURTURE, K.LOST),
    K.SQL: (K.OPPORTUNITY, K.SAL, K.NURTURE, K.LOST),
    K.OPPORTUNITY: (K.WON, K.LOST, K.SQL, K.NURTURE),
    K.WON: (),
    K.LOST: (K.NURTURE,),
    K.NURTURE: (K.MQL, K.INQUIRY),
}
AMOUNT_REQUIRED = frozenset({K.OPPORTUNITY, K.WON})
# Kinds where a lead belongs to a sales rep.
SALES_WORKED = frozenset({K.MQL, K.SAL, K.SQL, K.OPPORTUNITY})


@dataclass(frozen=True)
class Stages:
    """All stages, read once per use-case."""

    by_slug: dict[str, Stage]

    @classmethod
    def load(cls) -> Stages:
        return cls(by_slug={s.slug: s for s in Stage.objects.all()})

    def first_of(self, kind: str) -> Stage:
        """The first stage (by order) of a kind: where the funnel puts leads entering that kind."""
        candidates = [s for s in self.by_slug.values() if s.kind == kind]
        if not candidates:
            raise Stage.DoesNotExist(f"No stage of kind {kind!r}.")
        return min(candidates, key=lambda s: (s.order, s.pk))

    def id_of(self, slug: str) -> int | None:
        stage = self.by_slug.get(slug)
        return stage.pk if stage else None

    def slugs_of(self, kind: str) -> list[str]:
        return [s.slug for s in self.by_slug.values() if s.kind == kind]

    def kind_of(self, slug: str) -> str:
        stage = self.by_slug.get(slug)
        return stage.kind if stage else K.INQUIRY

    def allowed_from(self, slug: str) -> list[Stage]:
        current = self.by_slug.get(slug)
        kinds = set(ALLOWED_MOVES.get(self.kind_of(slug), ()))
        return sorted(
            (
                s
                for s in self.by_slug.values()
                if (s.kind in kinds or (current is not None and s.kind == current.kind)) and s.slug != slug
            ),
            key=lambda s: (s.order, s.pk),
        )


def allowed_moves(*, lead: Lead, stages: Stages | None = None) -> list[str]:
    stages = stages or Stages.load()
    return [s.slug for s in stages.allowed_from(lead.stage_id)]  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional


# Kinds whose leads belong to one sales rep: only that rep (or a manager) moves them on.
OWNER_WORKED = frozenset({K.SAL, K.SQL, K.OPPORTUNITY})
CLOSED = frozenset({K.WON, K.LOST})


def move_refusal(*, user: Any, lead: Lead, from_stage: Stage | None, to_stage: Stage) -> str | None:
    """Who may move a lead (API.md): why ``user`` may not make this move, or None when they may.

    Managers may make any allowed move. Otherwise the team that holds the lead *now* decides: a lead in a
    marketing stage is moved by marketing; a lead in a sales stage only by its owner. A waiting MQL leaves
    MQL only through accept or reject (its owner) or a manager. Reopening a won or lost lead is for managers.
    """
    roles = roles_of(user)
    if MANAGERS in roles:
        return None
    kind = from_stage.kind if from_stage else K.INQUIRY
    is_owner = lead.owner_id is not None and lead.owner_id == getattr(user, "pk", None)
    if kind in CLOSED:
        return "Only a manager can reopen a won or lost lead."
    if kind == K.MQL:
        if is_owner and to_stage.kind == K.SAL:
            return None
        return "A waiting MQL leaves MQL only when its owner accepts or rejects it, or by a manager."
    if kind in OWNER_WORKED:
        return None if is_owner else "Only the lead's owner or a manager can move a lead in a sales stage."
    team = from_stage.team if from_stage else Team.MARKETING
    return (
        None
        if team in roles
        else f"Leads in {from_stage.name if from_stage else 'Inquiry'} are moved by {team}."
    )


def check_move(
    *, lead: Lead, to_slug: str, amount: Decimal | None, stages: Stages, lost_reason: str = ""
) -> tuple[Stage | None, Stage, LostReason | None]:
    """The stages of a move that makes sense (and, for Lost, its lost reason), or a 400 naming what is
    allowed. A move to a lost stage needs an active lost reason; other moves take none."""
    to_stage = stages.by_slug.get(to_slug)
    allowed = [s.slug for s in stages.allowed_from(lead.stage_id)]  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
    if to_stage is None:
        raise ValidationProblem({"stage": [f"Unknown stage '{to_slug}'. Allowed moves: {_names(allowed)}."]})
    if to_stage.slug not in allowed:
        current = stages.by_slug.get(lead.stage_id)  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
        name = current.name if current else lead.stage_id
        raise ValidationProblem(
            {
                "stage": [
                    f"A lead in {name} cannot move to {to_stage.name}. Allowed moves: {_names(allowed)}."
                ]
            },
            detail=f"Allowed moves from {name}: {_names(allowed)}.",
        )
    if to_stage.kind in AMOUNT_REQUIRED and amount is None:
        raise ValidationProblem({"amount": [f"An amount (≥ 0) is required to move to {to_stage.name}."]})
    if amount is not None and amount < 0:
        raise ValidationProblem({"amount": ["The amount must be 0 or more."]})
    return stages.by_slug.get(lead.stage_id), to_stage, _lost_reason(to_stage=to_stage, slug=lost_reason)  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional


def _lost_reason(*, to_stage: Stage, slug: str) -> LostReason | None:
    if to_stage.kind != K.LOST:
        if slug:
            raise ValidationProblem(
                {"lost_reason": [f"A lost reason is given only for a move to Lost, not to {to_stage.name}."]}
            )
        return None
    active = list(LostReason.objects.filter(active=True))
    found = next((reason for reason in active if reason.slug == slug), None)
    if found is None:
        choices = _names([reason.slug for reason in active])
        message = (
            f"Unknown lost reason '{slug}'."
            if slug
            else f"A lost reason is required to move to {to_stage.name}."
        )
        raise ValidationProblem({"lost_reason": [f"{message} Choose one of: {choices}."]})
    return found


def _names(slugs: list[str]) -> str:
    return ", ".join(slugs) if slugs else "none"


def record_move(
    *,
    lead: Lead,
    from_stage: Stage | None,
    to_stage: Stage,
    at: datetime,
    actor: Any = None,
    rule: str = "",
    reason: str = "",
    amount: Decimal | None = None,
    reject_reason: Any = None,
    lost_reason: LostReason | None = None,
    owner: Any = ...,
    sla_due_at: datetime | None = None,
) -> Transition:
    """Write the transition and keep the lead's stage (and owner, deadline) current.

    Call inside a transaction holding ``select_for_update`` on the lead.
    """
    lead.stage = to_stage
    lead.sla_due_at = sla_due_at
    lead.updated_at = at
    fields = ["stage", "sla_due_at", "updated_at"]
    if owner is not ...:
        lead.owner = owner
        fields.append("owner")
    lead.save(update_fields=fields)
    transition = Transition.objects.create(
        lead=lead,
        from_stage=from_stage,
        to_stage=to_stage,
        at=at,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        rule=rule,
        reason=reason[:500],
        amount=amount,
        reject_reason=reject_reason,
        lost_reason=lost_reason,
    )
    emit_lead_events(
        event=WebhookEventType.LEAD_STAGE_CHANGED,
        lead_ids=[lead.pk],
        extra={lead.pk: _stage_change(transition, from_slug=from_stage.slug if from_stage else None)},
    )
    return transition


def _stage_change(transition: Transition, *, from_slug: str | None) -> dict[str, Any]:
    """What ``lead.stage_changed`` tells besides the lead: from, to, when, who or which rule, why."""
    return {
        "from": from_slug,
        "to": transition.to_stage.slug,
        "at": transition.at.isoformat(),
        "actor": transition.actor_id,
        "rule": transition.rule,
        "reason": transition.reason,
        "amount": str(transition.amount) if transition.amount is not None else None,
    }


def move_leads(
    *,
    moves: Sequence[BulkMove],
    to_stage: Stage,
    at: datetime,
    rule: str,
    reason: str,
    sla_due_at: datetime | None = None,
) -> None:
    """The set-based form of ``record_move`` for system rules (promotion): one transition per lead.

    Call inside a transaction holding row locks on the leads.
    """
    if moves:
        pipeline_sql.apply_moves(
            moves=moves, to_stage=to_stage, at=at, rule=rule, reason=reason[:500], sla_due_at=sla_due_at
        )
        if subscribed(WebhookEventType.LEAD_STAGE_CHANGED) and set_based():
            pairs, params, joins = pipeline_sql.stage_change_json(
                to_slug=to_stage.slug, at=at, rule=rule, reason=reason[:500]
            )
            emit_lead_events_joined(
                event=WebhookEventType.LEAD_STAGE_CHANGED,
                lead_ids=[m.lead_id for m in moves],
                refs=[m.from_stage_id for m in moves],
                extra=pairs,
                extra_params=params,
                joins=joins,
            )
        elif subscribed(WebhookEventType.LEAD_STAGE_CHANGED):
            slugs = dict(Stage.objects.values_list("pk", "slug"))
            emit_lead_events(
                event=WebhookEventType.LEAD_STAGE_CHANGED,
                lead_ids=[m.lead_id for m in moves],
                extra={
                    m.lead_id: _stage_change(
                        Transition(to_stage=to_stage, at=at, rule=rule, reason=reason[:500]),
                        from_slug=slugs.get(m.from_stage_id) if m.from_stage_id else None,
                    )
                    for m in moves
                },
            )


# New leads start in Inquiry: their first transition (none → Inquiry), written in the ingest transaction
# (on PostgreSQL by the very statement that creates them: ``leads.ingest_sql``).
NEW_LEADS = pipeline_sql.FirstTransitions(rule="ingest", reason="New lead.")


def record_new_leads(*, lead_ids: Sequence[int]) -> int:
    """Write the first transition of leads created without it (``NEW_LEADS``)."""
    if not lead_ids:
        return 0
    return NEW_LEADS.insert(lead_ids=lead_ids)


@dataclass(frozen=True)
class LeadState:
    lead_id: int
    stage: str
    owner_id: int | None
    sla_due_at: datetime | None


def write_history(*, transitions: list[Transition], states: list[LeadState]) -> None:
    """Store a made-up or imported history as it happened (the demo): the transitions, then each lead's
    resulting stage, owner and deadline. Call inside a transaction."""
    Transition.objects.bulk_create(transitions, batch_size=2000)
    Lead.objects.bulk_update(
        [Lead(pk=s.lead_id, stage_id=s.stage, owner_id=s.owner_id, sla_due_at=s.sla_due_at) for s in states],
        ["stage", "owner", "sla_due_at"],
        batch_size=2000,
    )


def reached_q(kinds: Sequence[str], *, lead_ref: str = "pk") -> Exists:
    """Leads that ever entered a stage of one of ``kinds`` (whatever stage they are in now)."""
    return Exists(Transition.objects.filter(lead=OuterRef(lead_ref), to_stage__kind__in=list(kinds)))


def time_in_stages(*, transitions: list[Transition], now: datetime | None = None) -> list[dict[str, Any]]:
    """Each stay in a stage, oldest first: ``{"stage", "entered_at", "left_at", "duration"}``."""
    now = now or timezone.now()
    ordered = sorted(transitions, key=lambda t: (t.at, t.pk or 0))
    stays = []
    for index, transition in enumerate(ordered):
        left_at = ordered[index + 1].at if index + 1 < len(ordered) else None
        duration: timedelta = (left_at or now) - transition.at
        stays.append(
            {
                "stage": transition.to_stage,
                "entered_at": transition.at,
                "left_at": left_at,
                "duration": duration,
            }
        )
    return stays
