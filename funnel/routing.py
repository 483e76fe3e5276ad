"""Routing: which sales rep gets the next hand-off.

Routing is round-robin among active reps: the eligible rep whose latest assignment is oldest goes next.
Eligibility: a rep whose territory (countries, and the countries of its markets) includes the lead's country
goes first; if none of those has room, reps without a territory take the lead; if nobody has room, the
hand-off waits in the unassigned queue that managers see. A rep at capacity (open hand-offs) is skipped.

TRICKY: routing is fair and race-free because every routing use-case locks the single ``RoutingState`` row
first (``select_for_update``) and only then reads the leads and the reps' open counts; a second worker waits
for the first to commit and then sees its leads already in MQL. Leads are claimed ``FOR UPDATE SKIP LOCKED``
so a lead a user is moving at that moment is simply left for the next sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count

from core.roles import MANAGERS, SALES
from funnel import alerts
from funnel.deadlines import sla_deadline
from funnel.models import Handoff, HandoffStatus, RepProfile, RoutingState
from leads.models import Lead
from leads.pipeline import Stages


@dataclass
class RepSlot:
    user_id: int
    territory: frozenset[str]
    capacity: int | None
    open: int
    rotation: int

    @property
    def has_room(self) -> bool:
        return self.capacity is None or self.open < self.capacity


@dataclass
class Router:
    """The reps and where the rotation stands; ``pick`` hands out leads one by one, in memory."""

    reps: list[RepSlot]
    counter: int
    by_country: dict[str, list[RepSlot]] = field(default_factory=dict)
    generalists: list[RepSlot] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        for rep in sorted(self.reps, key=lambda r: r.user_id):
            if rep.territory:
                for country in rep.territory:
                    self.by_country.setdefault(country, []).append(rep)
            else:
                self.generalists.append(rep)

    def pick(self, country: str, exclude: int | None = None) -> int | None:
        """The next rep for a lead from ``country``: least recently assigned, with room, not ``exclude``."""
        territory = self.by_country.get(country.upper(), ()) if country else ()
        for group in (territory, self.generalists):
            best: RepSlot | None = None
            best_rotation = 0
            for rep in group:  # a handful of reps: a scan beats a heap that must skip full reps
                if rep.user_id == exclude or (rep.capacity is not None and rep.open >= rep.capacity):
                    continue
                if best is None or rep.rotation < best_rotation:
                    best, best_rotation = rep, rep.rotation
            if best is not None:
                self.counter += 1
                best.rotation = self.counter
                best.open += 1
                self.changed.add(best.user_id)
                return best.user_id
        return None


def sales_reps() -> Any:
    return get_user_model().objects.filter(is_active=True, groups__name=SALES).distinct()


def load_router() -> Router:
    """Read the rotation and the reps. Call inside a transaction holding the routing lock."""
    state = RoutingState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        RoutingState.objects.bulk_create([RoutingState(pk=1)], ignore_conflicts=True)
        state = RoutingState.objects.select_for_update().get(pk=1)
    rep_ids = list(sales_reps().values_list("pk", flat=True))
    RepProfile.objects.bulk_create([RepProfile(user_id=pk) for pk in rep_ids], ignore_conflicts=True)
    profiles = list(
        RepProfile.objects.filter(user_id__in=rep_ids, active=True)
        .prefetch_related("markets")
        .order_by("user_id")
    )
    open_counts = dict(
        Handoff.objects.filter(status=HandoffStatus.OPEN, rep_id__in=rep_ids)
        .values_list("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )
    reps = [
        RepSlot(
            user_id=p.user_id,
            territory=frozenset(
                c.upper() for c in [*p.countries, *(c for m in p.markets.all() for c in m.countries)]
            ),
            capacity=p.capacity,
            open=open_counts.get(p.user_id, 0),
            rotation=p.rotation,
        )
        for p in profiles
    ]
    return Router(reps=reps, counter=state.counter)


def save_router(router: Router) -> None:
    RoutingState.objects.filter(pk=1).update(counter=router.counter)
    changed = [
        RepProfile(user_id=r.user_id, rotation=r.rotation) for r in router.reps if r.user_id in router.changed
    ]
    for rep in changed:  # at most one statement per rep (a handful), not per lead
        RepProfile.objects.filter(user_id=rep.user_id).update(rotation=rep.rotation)
    router.changed.clear()


def route_locked_lead(*, lead: Lead, now: datetime, stages: Stages, exclude: int | None = None) -> Handoff:
    """Hand one lead that just entered MQL to the next rep (or the unassigned queue).

    Call inside a transaction holding ``select_for_update`` on the lead.
    """
    router = load_router()
    rep_id = router.pick(lead.country or "", exclude=exclude)
    due = sla_deadline(stages=stages, now=now)
    handoff = Handoff.objects.create(lead=lead, rep_id=rep_id, assigned_at=now, sla_due_at=due)
    Lead.objects.filter(pk=lead.pk).update(owner_id=rep_id, sla_due_at=due)
    lead.owner_id, lead.sla_due_at = rep_id, due
    save_router(router)
    alerts.handoff_arrived(lead=lead, rep_id=rep_id, now=now)
    return handoff


def reps_for_assignment() -> list[Any]:
    return list(sales_reps().order_by("first_name", "username"))


def managers() -> list[Any]:
    return list(get_user_model().objects.filter(is_active=True, groups__name=MANAGERS).distinct())
