"""Demo data for the funnel: twelve months of leads travelling the waterfall.

Each demo lead without a history gets one: Inquiry when created, then MQL and a hand-off to "sam" or
"sofia" (round-robin, 24 h SLA) — always for a lead that meets today's MQL bar, rarely for others (earlier
versions of the model). Most hand-offs are decided in hours, some late (breached, some of those reassigned by
the manager); the latest are still waiting, a few of them overdue. Accepted leads go on to SQL, opportunity
(with an amount), won or lost (with a lost reason), and some rejected or stalled leads are recycled from
Nurture.

The history is a steady state up to *now*: every lead that the promotion would pick up (in Inquiry and
meeting the bar, or in Nurture, meeting it and active since) is handed off inside the history, spread over
the time it has been waiting, so that a first ``promote_qualified_leads()`` finds nothing left and the
current month looks like any other, only shorter.
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
from django.db.models import BooleanField, Case, Exists, Max, OuterRef, When

from funnel.models import Handoff, HandoffStatus, RepProfile
from leads.models import Lead, LostReason, RejectReason, Stage, Transition
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
        self.lost_reasons = {r.slug: r for r in LostReason.objects.all()}
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

    def before_now(self, start: datetime, low_hours: float) -> datetime:
        """A moment between ``start`` and now, log-uniform from ``low_hours`` after ``start`` (sooner is
        likelier): the leads waiting since different times do not all pile up just before now."""
        window = (self.now - start).total_seconds() / 3600
        if window <= low_hours:
            return start + (self.now - start) * self.rng.random()
        return start + timedelta(hours=low_hours * (window / low_hours) ** self.rng.random())

    def lose(self, journey: Journey, at: datetime, rep: int | None, slug: str, reason: str) -> None:
        self.move(journey, "lost", at, actor=rep, reason=reason, lost_reason=self.lost_reasons.get(slug))

    def hand_off(
        self, journey: Journey, at: datetime, reasons: list[tuple[str, int]], *, accept: float = 0.72
    ) -> bool:
        """MQL and a hand-off, accepted with odds ``accept`` once decided; True when it was accepted."""
        rng = self.rng
        self.move(journey, "mql", at, rule="mql-bar:v1", reason="Met the MQL bar (scoring model v1).")
        rep = self.next_rep()
        due = at + SLA
        roll = rng.random()
        # Most reps answer within hours; some let the deadline pass.
        decided = self.later(at, 0.3, 20) if roll < 0.85 else self.later(at, 25, 70)
        if self.now - at < timedelta(days=5) and rng.random() < 0.06:
            decided = None  # a few recent hand-offs are left waiting past their deadline
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
        if rng.random() < accept:
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
            self.lose(journey, step, rep, "went-quiet", "Went quiet after the first call.")
            return
        if roll > 0.8:
            return  # still in SAL
        self.move(journey, "sql", step, actor=rep, reason="Budget, authority, need and timing confirmed.")
        roll, step = rng.random(), self.later(step, 72, 20 * 24)
        if step is None or roll > 0.8:
            return
        if roll < 0.2:
            slug = rng.choice(["timing", "timing", "no-budget", "no-decision"])
            self.lose(journey, step, rep, slug, "Chose to wait.")
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
            slug, lost_to = rng.choice(
                [
                    *[("competitor", "a competitor"), ("price", "price")] * 2,
                    ("no-decision", "no decision"),
                    ("other", "a reorganisation"),
                ]
            )
            self.lose(journey, step, rep, slug, f"Lost to {lost_to}.")

    def journey(self, lead: dict[str, Any]) -> Journey:
        rng = self.rng
        journey = Journey(lead_id=lead["id"])
        created = lead["created_at"]
        self.move(journey, "inquiry", created, rule="ingest", reason="New lead.")
        persona = lead["persona__slug"] or ""
        # Leads that meet today's MQL bar went through the funnel (as the promotion would have sent them);
        # a few others did under earlier versions of the model.
        odds = 1.0 if lead["meets_bar"] else 0.01 if persona == "student" else 0.05
        if lead["source"] == "outbound":
            odds += 0.1
        if rng.random() > odds:
            return journey
        # A lead too young for the usual wait was promoted some time since it arrived.
        mql_at = self.later(created, 2, 24 * 20) or self.before_now(created, 2)
        reasons = REASON_WEIGHTS.get(persona, REASON_WEIGHTS[""])
        if self.hand_off(journey, mql_at, reasons):
            self.sales_cycle(journey, journey.transitions[-1].at, lead["company_size"])
        if journey.stage == "nurture" and rng.random() < 0.3:
            back = self.later(journey.transitions[-1].at, 24 * 25, 24 * 90)
            if back is not None and self.hand_off(journey, back, REASON_WEIGHTS[""]):
                self.sales_cycle(journey, journey.transitions[-1].at, lead["company_size"])
        self.recycle_re_engaged(journey, lead)
        return journey

    def recycle_re_engaged(self, journey: Journey, lead: dict[str, Any]) -> None:
        """A nurtured lead that meets the bar and was active after its move to Nurture is what the promotion
        picks up: hand it off again some time after, as the promotion would have. It is accepted or still
        waiting: a lead that qualifies twice is rarely turned away, and another rejection would leave it
        waiting for the promotion again."""
        last_active = lead["last_active_at"]
        for _ in range(3):  # sales may send it back to Nurture ("not now") before its latest activity
            nurtured_at = journey.transitions[-1].at
            if not (
                lead["meets_bar"] and journey.stage == "nurture" and last_active and last_active > nurtured_at
            ):
                return
            back = self.before_now(nurtured_at, 24)
            if self.hand_off(journey, back, REASON_WEIGHTS[""], accept=1.0):
                self.sales_cycle(journey, journey.transitions[-1].at, lead["company_size"])


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
        .annotate(
            meets_bar=Case(When(mql_bar_q(), then=True), default=False, output_field=BooleanField()),
            last_active_at=Max("activities__occurred_at"),
        )
        .values(
            "id",
            "created_at",
            "persona__slug",
            "seniority",
            "is_decision_maker",
            "source",
            "company_size",
            "meets_bar",
            "last_active_at",
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
