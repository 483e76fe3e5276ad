"""KPI snapshots: every KPI of every scope of a period, computed and stored; one scope's stored KPIs, read.

``compute_snapshots(period=...)`` computes every KPI for every scope in a fixed number of SQL statements (no
query per lead, rep or campaign, ``alignment.kpi_sql``) and upserts ``KpiSnapshot`` rows on (period, scope,
metric), so a rerun or a duplicate task changes nothing but ``computed_at``. Pages and the API read the
snapshots only; they never aggregate the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alignment import kpi_sql
from alignment.kpi_definitions import KPIS, REGISTRY
from alignment.models import KpiSnapshot
from alignment.periods import Period, parse_period
from alignment.scopes import ALL, Scope, ScopeKey, ScopeKind
from core.roles import SALES
from leads.models import Campaign, Persona

Measures = dict[str, Any]

# TRICKY: while a period runs, its rows come with a second set, ``prior:<kpi>``: the previous period measured
# up to the same point (``Period.same_point_in_previous``), written in the same statement with the same
# ``computed_at``, so the dashboard compares 1-2 December with 1-2 November rather than with the whole of
# November. The API and goals read only the KPI keys and never see them; a run after the period's end
# removes them (the whole previous period is then the fair comparison).
PRIOR = "prior:"


def _scopes(period: Period) -> tuple[set[ScopeKey], set[ScopeKey]]:
    """(every scope that gets a row, the scopes that numbers may land in).

    Every scope gets a row: all, every campaign, persona and sales rep, and any scope written before for the
    period (zeroed rather than left stale). Numbers land in those, and in the scope of any rep a lead or a
    hand-off names; a campaign or persona created while we compute has no row yet: its numbers land next time.
    """
    known = {ALL.key}
    known.update((ScopeKind.CAMPAIGN.value, pk) for pk in Campaign.objects.values_list("pk", flat=True))
    known.update((ScopeKind.PERSONA.value, pk) for pk in Persona.objects.values_list("pk", flat=True))
    universe = set(known)
    reps = get_user_model().objects.filter(groups__name=SALES).values_list("pk", flat=True)
    universe.update((ScopeKind.REP.value, pk) for pk in reps)
    universe.update(
        KpiSnapshot.objects.filter(period=period.key).values_list("scope_kind", "scope_ref").distinct()
    )
    return universe, known


def measure_period(*, period: Period, now: datetime) -> dict[ScopeKey, Measures]:
    """The raw measures of every scope for ``period``, as of ``now``: ``{scope: {measure: value}}``.

    Call inside a transaction (``alignment.kpi_sql.measure_period`` creates temporary tables).
    """
    universe, known = _scopes(period)
    measures: dict[ScopeKey, Measures] = {scope: {} for scope in universe}

    def of(scope: ScopeKey) -> Measures:
        if scope[0] != ScopeKind.REP and scope not in known:
            return {}
        return measures.setdefault(scope, {})

    found = kpi_sql.measure_period(
        start=period.start, end=period.end, now=now, first_day=period.first_day, end_day=period.end_day
    )
    for row in found.leads:
        of(row.scope).update(row.measures())
    for handoffs in found.handoffs:
        of(handoffs.scope).update(handoffs.measures())
    for median in found.medians:
        of(median.scope)[median.measure] = median.value
    for reason in found.reasons:
        of(reason.scope).setdefault("reject_reasons", {})[reason.reason] = reason.leads
    for reason in found.lost_reasons:
        of(reason.scope).setdefault("lost_reasons", {})[reason.reason] = reason.leads
    costs = {spend.campaign_id: spend.amount for spend in found.costs}
    for (kind, ref), values in measures.items():
        # Cost has no meaning per persona or rep.
        if kind == ScopeKind.ALL:
            values["cost"] = sum(costs.values(), 0.0)
        elif kind == ScopeKind.CAMPAIGN:
            values["cost"] = costs.get(ref, 0)
        else:
            values["cost"] = None
    return measures


def compute_snapshots(*, period: Period | str, now: datetime | None = None) -> int:
    """Compute every KPI for every scope of ``period`` and upsert the snapshots; returns the rows written.

    While ``period`` runs at ``now``, also the previous period up to the same point (``PRIOR`` rows)."""
    if isinstance(period, str):
        period = parse_period(period)
    now = now or timezone.now()
    running = period.start <= now < period.end
    with transaction.atomic():
        measures = measure_period(period=period, now=now)
        rows = [
            kpi_sql.SnapshotRow(metric=kpi.key, scope=scope, value=kpi.compute(values))
            for scope, values in measures.items()
            for kpi in REGISTRY
        ]
        if running:
            prior = measure_period(period=period.previous(), now=period.same_point_in_previous(now))
            # Every scope of the period gets the rows, zeroed where the previous period had nothing.
            for scope in measures:
                before = prior.get(scope, {})
                rows += [
                    kpi_sql.SnapshotRow(metric=PRIOR + kpi.key, scope=scope, value=kpi.compute(before))
                    for kpi in REGISTRY
                ]
        else:
            KpiSnapshot.objects.filter(period=period.key, metric__startswith=PRIOR).delete()
        # Sorted rows take row locks in the same order, so two concurrent refreshes queue, never deadlock.
        rows.sort(key=lambda row: (row.metric, row.scope))
        kpi_sql.upsert_snapshots(rows=rows, period=period.key, now=now)
    return len(rows)


def empty_metrics() -> dict[str, Any]:
    return {kpi.key: None for kpi in REGISTRY}


@dataclass(frozen=True)
class Snapshot:
    period: str
    scope: str
    computed_at: datetime | None
    metrics: dict[str, Any]


def read_snapshot(*, period: Period, scope: Scope) -> Snapshot:
    """The stored KPIs of one period and scope (one query); KPIs never computed are ``None``."""
    metrics = empty_metrics()
    computed_at = None
    for metric, value, at in KpiSnapshot.objects.filter(
        period=period.key, scope_kind=scope.kind, scope_ref=scope.ref, metric__in=list(KPIS)
    ).values_list("metric", "value", "computed_at"):
        metrics[metric] = value
        computed_at = at if computed_at is None else max(computed_at, at)
    return Snapshot(period=period.key, scope=scope.text, computed_at=computed_at, metrics=metrics)
