"""A tiny pipeline builder for KPI tests: stage moves and hand-offs written directly, as the funnel would."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from funnel.models import Handoff
from leads.models import Lead, LostReason, RejectReason, Stage, Transition
from tests.factories import LeadFactory


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def stage(kind: str) -> Stage:
    """The seeded stage of a kind (the seeded slugs are their kinds)."""
    return Stage.objects.get(slug=kind)


class Journey:
    """One lead's walk through the funnel; ``to`` writes a transition from wherever the lead is."""

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        self.current: Stage | None = None

    def to(
        self,
        target: str | Stage,
        when: datetime,
        *,
        amount: int | None = None,
        reason: str | None = None,
        lost: str | None = None,
    ) -> Journey:
        target_stage = stage(target) if isinstance(target, str) else target
        Transition.objects.create(
            lead=self.lead,
            from_stage=self.current,
            to_stage=target_stage,
            at=when,
            amount=Decimal(amount) if amount is not None else None,
            reject_reason=RejectReason.objects.get(slug=reason) if reason else None,
            lost_reason=LostReason.objects.get(slug=lost) if lost else None,
        )
        self.current = target_stage
        Lead.objects.filter(pk=self.lead.pk).update(stage=target_stage.slug)
        return self


def journey(*, created: datetime, **fields) -> Journey:
    lead = LeadFactory(created_at=created, updated_at=created, **fields)
    return Journey(lead).to("inquiry", created)


def handoff(
    lead: Lead,
    rep,
    *,
    assigned: datetime,
    due: datetime,
    status: str = "open",
    closed: datetime | None = None,
    reason: str | None = None,
) -> Handoff:
    return Handoff.objects.create(
        lead=lead,
        rep=rep,
        assigned_at=assigned,
        sla_due_at=due,
        status=status,
        closed_at=closed,
        late=bool(closed and closed > due),
        reject_reason=RejectReason.objects.get(slug=reason) if reason else None,
    )
