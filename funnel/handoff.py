"""Hand-off from marketing to sales: promote qualified leads to MQL, route them to reps, accept and reject.

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

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from core.audit import record
from core.errors import Conflict, ValidationProblem
from core.roles import MANAGERS, SALES, is_manager
from funnel.models import (
    FunnelSettings,
    Handoff,
    HandoffStatus,
    RejectReason,
    RepProfile,
    RoutingState,
    Stage,
    StageKind,
    Transition,
)
from funnel.moves import Stages, record_move
from leads.models import Activity, Lead, ScoringModel
from leads.qualification import active_scoring_model, mql_bar_q

K = StageKind
PROMOTE_BATCH = 5000
NOTE_MAX = 2000


# --- Routing ----------------------------------------------------------------------------------------------
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


def sla_deadline(*, stages: Stages, now: datetime) -> datetime:
    """When a hand-off made ``now`` is due: the MQL stage's SLA hours, in business hours if so configured."""
    org = FunnelSettings.load()
    hours = stages.first_of(K.MQL).sla_hours or org.default_sla_hours
    if not org.business_hours_only:
        return now + timedelta(hours=hours)
    return add_business_hours(
        start=now, hours=hours, day_start=org.business_day_start, day_end=org.business_day_end
    )


def add_business_hours(*, start: datetime, hours: int, day_start: int, day_end: int) -> datetime:
    """``start`` plus ``hours`` counted on weekdays between ``day_start`` and ``day_end`` (local time)."""
    zone = timezone.get_default_timezone()
    cursor = start.astimezone(zone)
    remaining = timedelta(hours=hours)

    def opening(day: datetime) -> datetime:
        return day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=day_start)

    while True:
        midnight = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        close = midnight + timedelta(hours=day_end)
        if cursor.weekday() >= 5 or cursor >= close:
            cursor = opening(midnight + timedelta(days=1))
            continue
        cursor = max(cursor, opening(midnight))
        available = close - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(start.tzinfo)
        remaining -= available
        cursor = opening(midnight + timedelta(days=1))


# --- Promotion ---------------------------------------------------------------------------------------------
def promotable_leads(*, stages: Stages, model: ScoringModel | None) -> Any:
    """Leads that meet the MQL bar and are waiting for it.

    A lead in Inquiry is promoted as soon as it meets the bar. A lead recycled to Nurture keeps its score,
    so it is promoted again only when it meets the bar AND did something after its latest move to Nurture
    (new qualifying engagement); otherwise a rejected lead would bounce straight back to sales.
    """
    last_nurtured = (
        Transition.objects.filter(lead=OuterRef(OuterRef("pk")), to_stage__kind=K.NURTURE)
        .order_by("-at")
        .values("at")[:1]
    )
    re_engaged = Exists(Activity.objects.filter(lead=OuterRef("pk"), occurred_at__gt=Subquery(last_nurtured)))
    waiting = Q(stage__in=stages.slugs_of(K.INQUIRY)) | (Q(stage__in=stages.slugs_of(K.NURTURE)) & re_engaged)
    return Lead.objects.filter(mql_bar_q(model)).filter(waiting)


def promote_qualified_leads(
    *, lead_ids: Sequence[int] | None = None, now: datetime | None = None, batch_size: int = PROMOTE_BATCH
) -> int:
    """Promote every waiting lead that meets the MQL bar (only ``lead_ids`` if given) and route it.

    Set-based, in batches of ``batch_size`` leads per transaction. Returns the number of hand-offs made.
    """
    model = active_scoring_model()
    if model is None:
        return 0
    stages = Stages.load()
    total = 0
    chunks: Iterable[Sequence[int] | None] = (
        [None]
        if lead_ids is None
        else [lead_ids[i : i + batch_size] for i in range(0, len(lead_ids), batch_size)]
    )
    for chunk in chunks:
        while True:
            made = _promote_batch(
                lead_ids=chunk, now=now or timezone.now(), batch_size=batch_size, stages=stages, model=model
            )
            total += made
            if made < batch_size or chunk is not None:
                break
    return total


def _promote_batch(
    *, lead_ids: Sequence[int] | None, now: datetime, batch_size: int, stages: Stages, model: ScoringModel
) -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # TRICKY: a promotion batch need not wait for its WAL flush. If the server crashed right after
            # the commit, the whole batch would be lost atomically (leads still in Inquiry, rotation as
            # before) and the periodic sweep would promote the same leads again; nothing else depends on it.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        router = load_router()
        candidates = promotable_leads(stages=stages, model=model)
        if lead_ids is not None:
            candidates = candidates.filter(pk__in=lead_ids)
        # TRICKY: no ORDER BY in SQL. Ordered by id, PostgreSQL would walk the primary key past every lead
        # already promoted (quadratic over a big backlog); unordered, it reads the stage index. The batch is
        # sorted here so the rotation hands leads out in the order they arrived.
        rows = sorted(
            candidates.order_by()
            .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            .values_list("pk", "country", "stage")
        )
        if not rows:
            return 0
        assigned = [(pk, router.pick(country or ""), stage) for pk, country, stage in rows]
        mql = stages.first_of(K.MQL)
        due = sla_deadline(stages=stages, now=now)
        rule = f"mql-bar:v{model.version}"
        reason = (
            f"Score ≥ {model.mql_threshold} with grade {model.min_grade} or better "
            f"(scoring model v{model.version})."
        )
        if connection.vendor == "postgresql":
            _write_promotions_pg(
                assigned=assigned, mql=mql, due=due, now=now, rule=rule, reason=reason, stages=stages
            )
        else:
            _write_promotions_orm(
                assigned=assigned, mql=mql, due=due, now=now, rule=rule, reason=reason, stages=stages
            )
        save_router(router)
    return len(rows)


def _array_literal(values: Iterable[int | None]) -> str:
    """A PostgreSQL array literal: one text parameter instead of thousands of adapted integers."""
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def _write_promotions_pg(
    *,
    assigned: list[tuple[int, int | None, str]],
    mql: Stage,
    due: datetime,
    now: datetime,
    rule: str,
    reason: str,
    stages: Stages,
) -> None:
    """Three statements for the whole batch: the transitions, the hand-offs and the leads, from arrays."""
    lead_ids = _array_literal(pk for pk, _, _ in assigned)
    rep_ids = _array_literal(rep for _, rep, _ in assigned)
    from_ids = _array_literal(
        stages.by_slug[stage].pk if stage in stages.by_slug else None for _, _, stage in assigned
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Transition._meta.db_table} "
            "(lead_id, from_stage_id, to_stage_id, at, rule, reason) "
            "SELECT v.lead_id, v.from_id, %s, %s, %s, %s "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(lead_id, from_id)",
            [mql.pk, now, rule, reason, lead_ids, from_ids],
        )
        cursor.execute(
            f"INSERT INTO {Handoff._meta.db_table} "
            "(lead_id, rep_id, assigned_at, sla_due_at, status, late, note) "
            "SELECT v.lead_id, v.rep_id, %s, %s, %s, false, '' "
            "FROM unnest(%s::bigint[], %s::int[]) AS v(lead_id, rep_id)",
            [now, due, HandoffStatus.OPEN, lead_ids, rep_ids],
        )
        cursor.execute(
            f"UPDATE {Lead._meta.db_table} AS l "
            "SET stage = %s, owner_id = v.rep_id, sla_due_at = %s, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::int[]) AS v(lead_id, rep_id) WHERE l.id = v.lead_id",
            [mql.slug, due, now, lead_ids, rep_ids],
        )


def _write_promotions_orm(
    *,
    assigned: list[tuple[int, int | None, str]],
    mql: Stage,
    due: datetime,
    now: datetime,
    rule: str,
    reason: str,
    stages: Stages,
) -> None:
    """The portable path (SQLite): bulk inserts and one UPDATE per rep."""
    Transition.objects.bulk_create(
        [
            Transition(
                lead_id=pk,
                from_stage=stages.by_slug.get(stage),
                to_stage=mql,
                at=now,
                rule=rule,
                reason=reason,
            )
            for pk, _, stage in assigned
        ],
        batch_size=2000,
    )
    Handoff.objects.bulk_create(
        [Handoff(lead_id=pk, rep_id=rep, assigned_at=now, sla_due_at=due) for pk, rep, _ in assigned],
        batch_size=2000,
    )
    by_rep: dict[int | None, list[int]] = defaultdict(list)
    for pk, rep, _ in assigned:
        by_rep[rep].append(pk)
    for rep, pks in by_rep.items():
        Lead.objects.filter(pk__in=pks).update(stage=mql.slug, owner_id=rep, sla_due_at=due, updated_at=now)


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
    return handoff


# --- Initial stage ---------------------------------------------------------------------------------------
def record_new_leads(*, lead_ids: Sequence[int]) -> int:
    """Write the first transition (none → Inquiry) for newly created leads, one INSERT … SELECT per chunk."""
    if not lead_ids:
        return 0
    table = Transition._meta.db_table
    lead_table = Lead._meta.db_table
    # The first Inquiry-kind stage is looked up inside the statement: one round trip per chunk, which
    # matters on the single-lead ingestion path.
    inquiry = f'(SELECT id FROM {Stage._meta.db_table} WHERE kind = %s ORDER BY "order", id LIMIT 1)'
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(lead_ids), 5000):
            chunk = list(lead_ids[start : start + 5000])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (lead_id, to_stage_id, at, rule, reason) "
                f"SELECT l.id, s.id, l.created_at, %s, %s FROM {lead_table} l CROSS JOIN {inquiry} s "
                f"WHERE l.id IN ({marks})",
                ["ingest", "New lead.", K.INQUIRY, *chunk],
            )
            written += cursor.rowcount
    return written


# --- Accept, reject, assign ------------------------------------------------------------------------------
def _waiting_handoff(*, lead: Lead, actor: Any, stages: Stages) -> Handoff:
    handoff = Handoff.objects.filter(lead=lead, status=HandoffStatus.OPEN).first()
    if handoff is None or stages.kind_of(lead.stage) != K.MQL:
        raise Conflict("This lead is no longer waiting for a decision.")
    if not (is_manager(actor) or (handoff.rep_id is not None and handoff.rep_id == actor.pk)):
        raise PermissionDenied("Only the lead's owner or a manager can decide on this hand-off.")
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
    return record_move(
        lead=lead,
        from_stage=stages.by_slug.get(lead.stage),
        to_stage=to_stage,
        at=now,
        actor=actor,
        reason="Accepted after the deadline." if late else "Accepted.",
        owner=handoff.rep if handoff.rep_id else actor,
    )


def reject_lead(*, lead_id: int, actor: Any, reason: str, note: str = "") -> Transition:
    """Reject a hand-off with a reason (and an optional note): MQL → Nurture; marketing sees why."""
    reject_reason = RejectReason.objects.filter(slug=reason, active=True).first()
    if reject_reason is None:
        known = list(RejectReason.objects.filter(active=True).values_list("slug", flat=True))
        raise ValidationProblem({"reason": [f"Choose one of: {', '.join(known)}."]})
    if len(note) > NOTE_MAX:
        raise ValidationProblem({"note": [f"At most {NOTE_MAX} characters."]})
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
        return record_move(
            lead=lead,
            from_stage=stages.by_slug.get(lead.stage),
            to_stage=stages.first_of(K.NURTURE),
            at=now,
            actor=actor,
            reason=f"{why}. {note.strip()}".strip() if note.strip() else why + ".",
            reject_reason=reject_reason,
            owner=None,
        )


def assign_lead(*, lead_id: int, actor: Any, owner_id: int) -> Lead:
    """A manager hands a lead to another rep. A waiting hand-off is reassigned with a fresh SLA clock."""
    if not is_manager(actor):
        raise PermissionDenied("Only managers assign leads.")
    rep = sales_reps().filter(pk=owner_id).first()
    if rep is None:
        raise ValidationProblem({"owner": ["Choose an active sales rep."]})
    stages = Stages.load()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        now = timezone.now()
        kind = stages.kind_of(lead.stage)
        previous = lead.owner_id
        handoff = Handoff.objects.filter(lead=lead, status=HandoffStatus.OPEN).first()
        if handoff is not None and kind == K.MQL:
            reassign_handoff(handoff=handoff, lead=lead, rep_id=rep.pk, actor=actor, now=now, stages=stages)
        elif kind in (K.SAL, K.SQL, K.OPPORTUNITY):
            Lead.objects.filter(pk=lead.pk).update(owner=rep, updated_at=now)
            record(actor=actor, action="lead.assigned", obj=lead, data={"from": previous, "to": rep.pk})
        else:
            raise Conflict("Only leads waiting in MQL or in a sales stage can be assigned to a rep.")
        lead.refresh_from_db()
        return lead


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
    record(
        actor=actor,
        action="handoff.reassigned",
        obj=lead,
        data={"from": handoff.rep_id, "to": rep_id, "sla_due_at": due.isoformat(), "rule": rule},
    )
    return new


def route_unassigned(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Hand waiting hand-offs from the unassigned queue to reps who have room again, with a fresh clock.

    Leads are claimed ``FOR UPDATE SKIP LOCKED`` after the routing lock, as promotion does, so a lead that a
    manager is reassigning at that moment is left for the next sweep.
    """
    now = now or timezone.now()
    stages = Stages.load()
    with transaction.atomic():
        router = load_router()
        waiting = dict(
            Handoff.objects.filter(status=HandoffStatus.OPEN, rep=None)
            .order_by("sla_due_at", "pk")
            .values_list("lead_id", "pk")[:batch_size]
        )
        leads = list(
            Lead.objects.filter(pk__in=list(waiting)).select_for_update(skip_locked=True).order_by("pk")
        )
        routed = 0
        for lead in leads:
            rep_id = router.pick(lead.country or "")
            if rep_id is None:
                continue
            handoff = Handoff.objects.get(pk=waiting[lead.pk])
            reassign_handoff(
                handoff=handoff, lead=lead, rep_id=rep_id, actor=None, now=now, stages=stages, rule="routing"
            )
            routed += 1
        save_router(router)
    return routed


def reps_for_assignment() -> list[Any]:
    return list(sales_reps().order_by("first_name", "username"))


def managers() -> list[Any]:
    return list(get_user_model().objects.filter(is_active=True, groups__name=MANAGERS).distinct())
