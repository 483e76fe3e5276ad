"""Demo data for the funnel: twelve months of leads travelling the waterfall.

Each demo lead without a history gets one: Inquiry when created, then, with odds that depend on its fit,
MQL and a hand-off to "sam" or "sofia" (round-robin, 24 h SLA). Most hand-offs are decided in hours, some
late (breached, some of those reassigned by the manager), a few recent ones are still waiting; accepted
leads go on to SQL, opportunity (with an amount), won or lost, and some rejected or stalled leads are
recycled from Nurture.
Everything is written set-based (bulk inserts) with timestamps in the past, and ``Lead.stage``/``owner``/
``sla_due_at`` match the last transition and the open hand-off.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, When

from funnel.models import Handoff, HandoffStatus, RepProfile
from leads.models import Lead, RejectReason, Stage, Transition
from leads.pipeline import LeadState, write_history
from scoring.qualification import mql_bar_q

SLA = timedelta(hours=24)
REASON_WEIGHTS = {
    "student": [("outside-target-market", 5), ("not-a-decision-maker", 4), ("bad-contact-data", 1)],
    "practitioner": [("not-a-decision-maker", 6), ("no-budget", 2), ("no-need", 2)],
    "": [
        ("no-budget", 4),
        ("no-need", 4),
        ("bad-contact-data", 2),
        ("duplicate", 1),
        ("competitor", 2),
        ("other", 1),
    ],
}
NOTES = {
    "no-budget": ["Budget frozen until next fiscal year.", "Likes it, but no budget before Q3."],
    "no-need": ["Just built an in-house tool.", "Was researching for a report, no project."],
    "not-a-decision-maker": ["Reports to the COO; ask marketing to reach her instead.", ""],
    "bad-contact-data": ["Phone number goes nowhere, e-mail bounced.", ""],
    "outside-target-market": ["Two-person company.", "Student project."],
    "competitor": ["Works for a competitor.", ""],
    "duplicate": ["Already in talks via a colleague.", ""],
    "other": ["Asked us not to call again.", ""],
}


@dataclass
class Journey:
    """One lead's way through the funnel, collected in memory before the bulk inserts."""

    lead_id: int
    stage: str = "inquiry"
    owner: int | None = None
    sla_due_at: datetime | None = None
    transitions: list[Transition] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)


class _Seeder:
    def __init__(self, *, rng: random.Random, now: datetime, reps: list[Any], manager: Any | None) -> None:
        self.rng, self.now, self.reps, self.manager = rng, now, reps, manager
        self.stages = {s.slug: s for s in Stage.objects.all()}
        self.reasons = {r.slug: r for r in RejectReason.objects.all()}
        self.turn = 0

    def next_rep(self, exclude: int | None = None) -> int:
        for _ in range(len(self.reps)):
            rep = self.reps[self.turn % len(self.reps)]
            self.turn += 1
            if rep.pk != exclude or len(self.reps) == 1:
                return rep.pk
        return self.reps[0].pk

    def move(
        self,
        journey: Journey,
        to: str,
        at: datetime,
        *,
        actor: int | None = None,
        rule: str = "",
        **extra: Any,
    ) -> None:
        journey.transitions.append(
            Transition(
                lead_id=journey.lead_id,
                from_stage=self.stages.get(journey.stage) if journey.transitions else None,
                to_stage=self.stages[to],
                at=at,
                actor_id=actor,
                rule=rule,
                **extra,
            )
        )
        journey.stage = to

    def later(self, at: datetime, low_hours: float, high_hours: float) -> datetime | None:
        """A moment after ``at`` (log-uniform between the bounds), or None if it would be in the future."""
        hours = low_hours * (high_hours / low_hours) ** self.rng.random()
        moment = at + timedelta(hours=hours)
        return moment if moment < self.now else None

    def hand_off(self, journey: Journey, at: datetime, reasons: list[tuple[str, int]]) -> bool:
        """MQL and a hand-off; returns True when the lead was accepted."""
        rng = self.rng
        self.move(journey, "mql", at, rule="mql-bar:v1", reason="Met the MQL bar (scoring model v1).")
        rep = self.next_rep()
        due = at + SLA
        roll = rng.random()
        # Most reps answer within hours; some let the deadline pass.
        decided = self.later(at, 0.3, 20) if roll < 0.8 else self.later(at, 25, 70)
        if self.now - at < timedelta(days=4) and rng.random() < 0.75:
            decided = None  # the queue always has recent hand-offs waiting, some already overdue
        handoff = Handoff(lead_id=journey.lead_id, rep_id=rep, assigned_at=at, sla_due_at=due)
        journey.handoffs.append(handoff)
        breach_at = due + timedelta(minutes=rng.randint(1, 5))
        if breach_at < self.now and (decided is None or decided > due):
            handoff.breached_at = breach_at
            if self.manager is not None and rng.random() < 0.25:
                # The manager reassigned it; the next rep gets a fresh clock.
                moved_at = breach_at + timedelta(hours=rng.uniform(0.5, 3))
                if moved_at < self.now:
                    handoff.status, handoff.closed_at, handoff.closed_by_id = (
                        HandoffStatus.REASSIGNED,
                        moved_at,
                        self.manager.pk,
                    )
                    rep = self.next_rep(exclude=rep)
                    due = moved_at + SLA
                    handoff = Handoff(
                        lead_id=journey.lead_id, rep_id=rep, assigned_at=moved_at, sla_due_at=due
                    )
                    journey.handoffs.append(handoff)
                    decided = self.later(moved_at, 0.2, 8)
        if decided is None:
            journey.owner, journey.sla_due_at = rep, due  # still waiting
            return False
        journey.sla_due_at = None
        handoff.closed_at, handoff.closed_by_id, handoff.late = decided, rep, decided > due
        if rng.random() < 0.72:
            handoff.status = HandoffStatus.ACCEPTED
            journey.owner = rep
            self.move(journey, "sal", decided, actor=rep, reason="Accepted.")
            return True
        slug = rng.choices([r for r, _ in reasons], weights=[w for _, w in reasons])[0]
        note = rng.choice(NOTES.get(slug, [""]))
        handoff.status, handoff.reject_reason, handoff.note = HandoffStatus.REJECTED, self.reasons[slug], note
        journey.owner = None
        label = self.reasons[slug].label
        self.move(
            journey,
            "nurture",
            decided,
            actor=rep,
            reason=f"Rejected: {label}. {note}".strip(),
            reject_reason=self.reasons[slug],
        )
        return False

    def sales_cycle(self, journey: Journey, at: datetime, size: int | None) -> None:
        rng, rep = self.rng, journey.owner
        roll = rng.random()
        step = self.later(at, 48, 15 * 24)
        if step is None:
            return
        if roll < 0.12:
            journey.owner = None
            self.move(journey, "nurture", step, actor=rep, reason="Not now: revisit next quarter.")
            return
        if roll < 0.22:
            self.move(journey, "lost", step, actor=rep, reason="Went quiet after the first call.")
            return
        if roll > 0.8:
            return  # still in SAL
        self.move(journey, "sql", step, actor=rep, reason="Budget, authority, need and timing confirmed.")
        roll, step = rng.random(), self.later(step, 72, 20 * 24)
        if step is None or roll > 0.8:
            return
        if roll < 0.2:
            self.move(journey, "lost", step, actor=rep, reason="Chose to wait.")
            return
        base = 4_000 + (size or 50) * rng.uniform(8, 25)
        amount = Decimal(round(min(base, 250_000), -2)).quantize(Decimal("0.01"))
        self.move(journey, "opportunity", step, actor=rep, reason="Proposal sent.", amount=amount)
        roll, step = rng.random(), self.later(step, 10 * 24, 60 * 24)
        if step is None or roll > 0.8:
            return
        if roll < 0.38:
            final = (amount * Decimal(str(round(rng.uniform(0.85, 1.05), 2)))).quantize(Decimal("0.01"))
            self.move(journey, "won", step, actor=rep, reason="Contract signed.", amount=final)
        else:
            lost_to = rng.choice(["a competitor", "price", "no decision"])
            self.move(journey, "lost", step, actor=rep, reason=f"Lost to {lost_to}.")

    def journey(self, lead: dict[str, Any]) -> Journey:
        rng = self.rng
        journey = Journey(lead_id=lead["id"])
        created = lead["created_at"]
        self.move(journey, "inquiry", created, rule="ingest", reason="New lead.")
        persona = lead["persona__slug"] or ""
        # Leads that meet today's MQL bar mostly went through the funnel already; a few others did under
        # earlier versions of the model.
        odds = 0.85 if lead["meets_bar"] else 0.01 if persona == "student" else 0.05
        if lead["source"] == "outbound":
            odds += 0.1
        if rng.random() > odds:
            return journey
        mql_at = self.later(created, 2, 24 * 20)
        if mql_at is None:
            return journey
        reasons = REASON_WEIGHTS.get(persona, REASON_WEIGHTS[""])
        if self.hand_off(journey, mql_at, reasons):
            self.sales_cycle(journey, journey.transitions[-1].at, lead["company_size"])
        if journey.stage == "nurture" and rng.random() < 0.3:
            back = self.later(journey.transitions[-1].at, 24 * 25, 24 * 90)
            if back is not None and self.hand_off(journey, back, REASON_WEIGHTS[""]):
                self.sales_cycle(journey, journey.transitions[-1].at, lead["company_size"])
        return journey


def _demo_people() -> tuple[list[Any], Any | None]:
    users = get_user_model().objects
    reps = list(users.filter(username__in=["sam", "sofia"]).order_by("username"))
    if not reps:
        reps = list(users.filter(groups__name="sales", is_active=True).order_by("username")[:2])
    manager = users.filter(username="max").first() or users.filter(groups__name="managers").first()
    return reps, manager


def seed_funnel(*, rng: random.Random, now: datetime) -> None:
    """Move demo leads without a history through the funnel with realistic conversion and timing."""
    reps, manager = _demo_people()
    if not reps:
        return
    has_history = Exists(Transition.objects.filter(lead=OuterRef("pk")))
    leads = list(
        Lead.objects.filter(~has_history)
        .order_by("created_at", "pk")
        .annotate(meets_bar=Case(When(mql_bar_q(), then=True), default=False, output_field=BooleanField()))
        .values(
            "id",
            "created_at",
            "persona__slug",
            "seniority",
            "is_decision_maker",
            "source",
            "company_size",
            "meets_bar",
        )
    )
    seeder = _Seeder(rng=rng, now=now, reps=reps, manager=manager)
    journeys = [seeder.journey(lead) for lead in leads]
    with transaction.atomic():
        for rep in reps:
            RepProfile.objects.update_or_create(user=rep, defaults={"active": True, "capacity": 60})
        write_history(
            transitions=[t for j in journeys for t in j.transitions],
            states=[
                LeadState(lead_id=j.lead_id, stage=j.stage, owner_id=j.owner, sla_due_at=j.sla_due_at)
                for j in journeys
                if j.stage != "inquiry"
            ],
        )
        Handoff.objects.bulk_create([h for j in journeys for h in j.handoffs], batch_size=2000)
