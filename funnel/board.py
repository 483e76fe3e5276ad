"""The sales pipeline as a board: a column per sales stage, a card per lead, totals per column.

Each column is one query (leads of that stage with their owner, the amount given when they entered it and
when that was), so the board costs the same whatever the pipeline's size. Won and Lost show the leads that
closed in the last ``CLOSED_DAYS`` days; every column shows at most ``CARDS_PER_COLUMN`` cards, oldest in
stage first, and says how many more there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import Lead, LostReason, Stage, StageKind, Transition
from leads.pipeline import AMOUNT_REQUIRED, CLOSED, Stages, move_refusal

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

K = StageKind
BOARD_KINDS = (K.SAL, K.SQL, K.OPPORTUNITY, K.WON, K.LOST)
CARDS_PER_COLUMN = 50
CLOSED_DAYS = 30


@dataclass(frozen=True)
class Target:
    """A stage a card can move to, and what the move asks for."""

    slug: str
    name: str
    kind: str
    needs_amount: bool
    needs_reason: bool
    # For a lost stage: the reasons to choose from (a managed list, like reject reasons).
    lost_reasons: tuple[LostReason, ...] = ()


@dataclass
class Card:
    lead: Lead
    entered_at: datetime | None
    amount: Decimal | None
    days_in_stage: int
    targets: list[Target] = field(default_factory=list)


@dataclass
class Column:
    stage: Stage
    cards: list[Card]
    count: int
    amount: Decimal

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def _entered(stage: Stage) -> Any:
    """The lead's latest entry into ``stage`` (a correlated subquery on the transition index)."""
    return Transition.objects.filter(lead=OuterRef("pk"), to_stage=stage).order_by("-at", "-id")


class _Entered(TypedDict):
    """What ``_column_leads`` adds to each lead: when it entered its stage, and the amount of that move."""

    entered_at: datetime | None
    amount: Decimal | None


def _column_leads(
    *, stage: Stage, base: QuerySet[Lead], now: datetime
) -> QuerySet[WithAnnotations[Lead, _Entered]]:
    latest = _entered(stage)
    leads = base.filter(stage=stage).annotate(
        entered_at=Subquery(latest.values("at")[:1]),
        amount=Subquery(latest.values("amount")[:1]),
    )
    if stage.kind in CLOSED:
        leads = leads.filter(entered_at__gte=now - timedelta(days=CLOSED_DAYS))
    return leads


def active_lost_reasons() -> tuple[LostReason, ...]:
    return tuple(LostReason.objects.filter(active=True))


def move_targets(
    *, user: Any, lead: Lead, stages: Stages, lost_reasons: tuple[LostReason, ...] | None = None
) -> list[Target]:
    """The moves this user may make with this lead (the allowed moves, less what the user may not do).

    A move to Lost offers ``lost_reasons``; pages with many cards read them once (``active_lost_reasons``),
    and with None they are read here, only when Lost is one of the moves."""
    current = stages.by_slug.get(lead.stage_id)  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
    allowed = [
        stage
        for stage in stages.allowed_from(lead.stage_id)  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
        if move_refusal(user=user, lead=lead, from_stage=current, to_stage=stage) is None
    ]
    if lost_reasons is None:
        lost_reasons = active_lost_reasons() if any(s.kind == K.LOST for s in allowed) else ()
    return [
        Target(
            slug=stage.slug,
            name=stage.name,
            kind=stage.kind,
            needs_amount=stage.kind in AMOUNT_REQUIRED,
            needs_reason=stage.kind == K.NURTURE,
            lost_reasons=lost_reasons if stage.kind == K.LOST else (),
        )
        for stage in allowed
    ]


def build_board(*, user: Any, owner_id: int | None, now: datetime | None = None) -> list[Column]:
    """The board's columns; ``owner_id`` None shows every rep's leads."""
    now = now or timezone.now()
    stages = Stages.load()
    lost_reasons = active_lost_reasons()
    base = Lead.objects.select_related("owner")
    if owner_id is not None:
        base = base.filter(owner_id=owner_id)
    columns = []
    board_stages = sorted(
        (s for s in stages.by_slug.values() if s.kind in BOARD_KINDS), key=lambda s: (s.order, s.pk)
    )
    for stage in board_stages:
        leads = _column_leads(stage=stage, base=base, now=now)
        totals = leads.aggregate(
            count=Count("pk"),
            total=Coalesce(Sum("amount"), Decimal(0), output_field=DecimalField()),
        )
        cards = [
            Card(
                lead=lead,
                entered_at=lead.entered_at,
                amount=lead.amount,
                days_in_stage=(now - lead.entered_at).days if lead.entered_at else 0,
                targets=move_targets(user=user, lead=lead, stages=stages, lost_reasons=lost_reasons),
            )
            for lead in leads.order_by("entered_at", "pk")[:CARDS_PER_COLUMN]
        ]
        columns.append(Column(stage=stage, cards=cards, count=totals["count"], amount=totals["total"]))
    return columns
