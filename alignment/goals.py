"""Goal progress: the KPI's latest snapshot against the target, with linear pacing.

* ``value`` is the goal's KPI in its latest snapshot for the goal's period and scope (``None`` if none yet).
* ``ratio`` is ``value / target`` (``None`` when either is missing or the target is 0).
* ``expected_ratio`` is where the value should stand by now. Cumulative KPIs (counts, amounts, credit)
  grow through the period, so the pace is linear: the elapsed share of the period. Level KPIs (rates,
  medians, costs per lead) should meet the target all period long, so their pace is 1 once the period has
  started (0 before).
* ``status`` compares the value with the pace ``target * expected_ratio``. Higher is better: on track at or
  above the pace, at risk within 10 % below it, off track further below. For lower-is-better KPIs
  (``cost_per_mql``, ``median_hours_to_accept``, ``rejection_rate``…) the target is a ceiling and the test
  is mirrored: on track at or below the pace, at risk within 10 % above it, off track further above.
  With no value yet, a goal is on track before its period starts and at risk after (nothing shows it is
  met).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alignment.kpi_definitions import BY_REASON_KEYS, KPIS
from alignment.models import SCOPE_COLUMNS, Goal, KpiSnapshot
from alignment.periods import InvalidPeriod, parse_period
from alignment.scopes import ScopeKey
from core.audit import record

ON_TRACK, AT_RISK, OFF_TRACK = "on_track", "at_risk", "off_track"
STATUS_LABELS = {ON_TRACK: "On track", AT_RISK: "At risk", OFF_TRACK: "Off track"}
TOLERANCE = 0.10


@dataclass(frozen=True)
class Progress:
    value: Any
    ratio: float | None
    expected_ratio: float
    status: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_ratio(*, metric: str, period: str, now: datetime) -> float:
    try:
        elapsed = parse_period(period).elapsed_share(now)
    except InvalidPeriod:
        return 0.0
    kpi = KPIS.get(metric)
    if kpi is not None and not kpi.cumulative:
        return 1.0 if elapsed > 0 else 0.0
    return elapsed


def progress_of(*, metric: str, target: Decimal | float, period: str, value: Any, now: datetime) -> Progress:
    """Progress of one goal given its KPI value (pure: no queries)."""
    expected = expected_ratio(metric=metric, period=period, now=now)
    kpi = KPIS.get(metric)
    higher_is_better = kpi.higher_is_better if kpi else True
    goal = float(target)
    numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    number = float(value) if numeric else None
    ratio = round(number / goal, 4) if number is not None and goal else None
    if number is None:
        status = ON_TRACK if expected == 0 else AT_RISK
    else:
        pace = goal * expected
        if higher_is_better:
            status = (
                ON_TRACK if number >= pace else AT_RISK if number >= pace * (1 - TOLERANCE) else OFF_TRACK
            )
        else:
            status = (
                ON_TRACK if number <= pace else AT_RISK if number <= pace * (1 + TOLERANCE) else OFF_TRACK
            )
    return Progress(value=value, ratio=ratio, expected_ratio=round(expected, 4), status=status)


def latest_values(goals: Iterable[Goal]) -> dict[tuple[str, str, ScopeKey], Any]:
    """The snapshot value of each goal's (metric, period, scope), in one query."""
    keys = {(goal.metric, goal.period, goal.scope_key) for goal in goals}
    if not keys:
        return {}
    # Goals share a few periods and scopes: one condition per period and scope (in the order of the unique
    # index) builds in a fraction of the time of one per goal, dozens on a page.
    metrics: dict[tuple[str, ScopeKey], set[str]] = {}
    for metric, period, scope in keys:
        metrics.setdefault((period, scope), set()).add(metric)
    condition = Q()
    for (period, (kind, ref)), names in sorted(metrics.items()):
        condition |= Q(period=period, scope_kind=kind, scope_ref=ref, metric__in=sorted(names))
    return {
        (metric, period, (kind, ref)): value
        for metric, period, kind, ref, value in KpiSnapshot.objects.filter(condition).values_list(
            "metric", "period", "scope_kind", "scope_ref", "value"
        )
    }


def progress_for(goals: Iterable[Goal], *, now: datetime | None = None) -> dict[int, Progress]:
    """Progress of many goals with one query for their KPI values."""
    goals = list(goals)
    now = now or timezone.now()
    values = latest_values(goals)
    return {
        goal.pk: progress_of(
            metric=goal.metric,
            target=goal.target,
            period=goal.period,
            value=values.get((goal.metric, goal.period, goal.scope_key)),
            now=now,
        )
        for goal in goals
    }


def validate_target(*, metric: str, target: Decimal) -> str | None:
    """A message if ``target`` cannot be a target for ``metric``, else ``None``."""
    kpi = KPIS.get(metric)
    if target < 0:
        return "Must be zero or more."
    if kpi is not None and kpi.unit == "share" and target > 1:
        return "A rate is a fraction from 0 to 1 (0.8 for 80 %)."
    return None


GOAL_METRICS = [kpi for kpi in KPIS.values() if kpi.key not in BY_REASON_KEYS]


# --- Writes (the API and the manager's form both call these) ---------------------------------------------
# ``scope`` is written as an ``alignment.scopes.Scope`` and read as its text.
GOAL_FIELDS = ("name", "metric", "target", "period", "scope")


def _snapshot(goal: Goal) -> dict[str, Any]:
    return {name: str(getattr(goal, name)) for name in GOAL_FIELDS}


def _differs(goal: Goal, name: str, value: Any) -> bool:
    if name == "scope":
        return goal.scope != value.text
    return getattr(goal, name) != value


def _columns(name: str) -> list[str]:
    return SCOPE_COLUMNS if name == "scope" else [name]


@transaction.atomic
def create_goal(*, actor: Any, fields: dict[str, Any]) -> Goal:
    goal = Goal.objects.create(**{name: fields[name] for name in GOAL_FIELDS if name in fields})
    record(actor=actor, action="goal.created", obj=goal, data=_snapshot(goal))
    return goal


@transaction.atomic
def update_goal(*, goal: Goal, actor: Any, fields: dict[str, Any]) -> Goal:
    changed = [name for name in GOAL_FIELDS if name in fields and _differs(goal, name, fields[name])]
    before = _snapshot(goal)
    for name in changed:
        setattr(goal, name, fields[name])
    if changed:
        goal.save(update_fields=[column for name in changed for column in _columns(name)] + ["updated_at"])
        record(
            actor=actor,
            action="goal.updated",
            obj=goal,
            data={name: [before[name], str(getattr(goal, name))] for name in changed},
        )
    return goal


@transaction.atomic
def delete_goal(*, goal: Goal, actor: Any) -> None:
    record(actor=actor, action="goal.deleted", obj=goal, data=_snapshot(goal))
    goal.delete()
