"""Demo goals and KPI snapshots: joint goals for this month and quarter, and twelve months of numbers."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from alignment.models import Goal, KpiSnapshot
from alignment.periods import Period, current_month, current_quarter, last_months
from alignment.scopes import ALL
from alignment.snapshots import compute_snapshots

# (name, KPI, month or quarter, what the target asks of the previous period's value, floor when there is
# no history). Counts and amounts: a factor (below 1 a goal the team is beating, above 1 a stretch); rates:
# points added to last period's rate. Goals that ask what the team delivers show on track at an even pace,
# stretches at risk or off track, so the demo shows a mix.
DEMO_GOALS = [
    ("MQL volume", "mqls", "month", 0.92, 150),
    ("SQLs per month", "sqls", "month", 1.10, 40),
    ("SLA compliance", "sla_compliance", "month", -0.03, Decimal("0.90")),
    ("Funnel-depth credit", "funnel_depth_credit", "month", 0.97, 400),
    ("Acceptance rate", "acceptance_rate", "quarter", 0.06, Decimal("0.75")),
    ("Marketing-sourced won amount", "marketing_sourced_won_amount", "quarter", 1.25, 150_000),
]
RATE_KINDS = frozenset({"sla_compliance", "acceptance_rate"})


def _previous_value(metric: str, period: Period) -> float | None:
    value = (
        KpiSnapshot.objects.filter(metric=metric, period=period.previous().key, scope_kind=ALL.kind)
        .values_list("value", flat=True)
        .first()
    )
    return float(value) if isinstance(value, int | float) else None


def _round_target(value: float) -> Decimal:
    """A target a person would set: two significant figures."""
    if value <= 0:
        return Decimal(0)
    digits = len(str(int(value))) - 2
    step = 10 ** max(digits, 0)
    return Decimal(round(value / step) * step)


def seed_goals(*, rng: random.Random, now: datetime) -> None:
    """Compute KPI snapshots for the last twelve months and four quarters, then set joint demo goals.

    Targets follow the previous period (``DEMO_GOALS``): some ask what the team delivers, some a stretch, so
    the demo shows goals on track, at risk and off track.
    """
    month, quarter = current_month(now), current_quarter(now)
    quarters = [quarter]
    for _ in range(3):
        quarters.append(quarters[-1].previous())
    for period in [*last_months(12, until=month), *quarters]:
        compute_snapshots(period=period, now=now)

    with transaction.atomic():
        for periods in ((month, month.previous()), (quarter,)):
            for name, metric, kind, ask, floor in DEMO_GOALS:
                for period in periods:
                    if (kind == "quarter") != period.is_quarter:
                        continue
                    Goal.objects.get_or_create(
                        name=name,
                        period=period.key,
                        scope_kind=ALL.kind,
                        defaults={"metric": metric, "target": _target(metric, period, ask, floor, rng)},
                    )


def _target(metric: str, period: Period, ask: float, floor: Decimal | int, rng: random.Random) -> Decimal:
    before = _previous_value(metric, period)
    if not before:
        return Decimal(floor)
    if metric in RATE_KINDS:
        return Decimal(str(round(min(max(before + ask, 0.05), 0.95), 2)))  # nobody asks for 100 %
    return _round_target(before * (ask + rng.uniform(-0.03, 0.03)))
