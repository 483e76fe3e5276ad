"""What the goals page shows: every goal with its status, its KPI's twelve-month trend and what drives it.

Read from KPI snapshots only, in a fixed number of queries whatever the number of goals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from alignment.dashboard_filters import FilterOptions
from alignment.goal_display import GoalRow, goal_rows
from alignment.goals import progress_for
from alignment.kpi_definitions import KPIS
from alignment.kpi_format import format_value, formatter, unit_label
from alignment.models import Goal, KpiSnapshot
from alignment.periods import Period, current_quarter, parse_period, trend_months
from alignment.scopes import ScopeKey, ScopeKind
from core.charts import LineChart, line_chart

TOP_CAMPAIGNS = 3


@dataclass(frozen=True)
class Figure:
    label: str
    display: str


@dataclass(frozen=True)
class GoalReview:
    row: GoalRow
    trend: LineChart
    drivers: list[Figure]  # the KPIs that move this one, for the goal's period and scope
    by_campaign: list[Figure]  # the campaigns that contribute most, for the goal's period

    @property
    def chart_id(self) -> str:
        return f"goal-trend-{self.row.goal.pk}"


@dataclass(frozen=True)
class GoalsPage:
    reviews: list[GoalReview]
    rows: list[GoalRow]
    current_quarter: Period


def _stored(rows: list[GoalRow]) -> dict[tuple[str, str, ScopeKey], Any]:
    """The snapshot values the reviews need: each goal's KPI and drivers over its trend months (one query)."""
    periods: set[str] = set()
    for row in rows:
        periods.add(row.goal.period)
        periods.update(month.key for month in trend_months(parse_period(row.goal.period)))
    metrics = {row.goal.metric for row in rows} | {driver for row in rows for driver in row.kpi.drivers}
    scopes = Q()
    for kind, ref in {row.goal.scope_key for row in rows}:
        scopes |= Q(scope_kind=kind, scope_ref=ref)
    found = KpiSnapshot.objects.filter(scopes, metric__in=metrics, period__in=periods).values_list(
        "metric", "period", "scope_kind", "scope_ref", "value"
    )
    return {(metric, period, (kind, ref)): value for metric, period, kind, ref, value in found}


def _campaign_values(rows: list[GoalRow]) -> dict[tuple[str, str], list[tuple[int, Any]]]:
    """Each goal's KPI per campaign in the goal's period: ``{(metric, period): [(campaign id, value)]}``."""
    found = KpiSnapshot.objects.filter(
        metric__in={row.goal.metric for row in rows},
        period__in={row.goal.period for row in rows},
        scope_kind=ScopeKind.CAMPAIGN,
    ).values_list("metric", "period", "scope_ref", "value")
    values: dict[tuple[str, str], list[tuple[int, Any]]] = defaultdict(list)
    for metric, period, ref, value in found:
        values[(metric, period)].append((ref, value))
    return values


def build_goals_page(*, options: FilterOptions, now: datetime | None = None) -> GoalsPage:
    """Every goal with its status, its KPI's twelve-month trend and what drives it (four queries)."""
    now = now or timezone.now()
    goals = list(Goal.objects.with_scope().order_by("-period", "name", "id"))
    labels = options.scope_labels()
    rows = goal_rows(goals, progress_for(goals, now=now), labels)
    stored = _stored(rows) if rows else {}
    campaign_values = _campaign_values(rows) if rows else {}
    reviews = []
    for row in rows:
        goal, kpi = row.goal, row.kpi
        months = trend_months(parse_period(goal.period))
        trend = line_chart(
            [m.first_day.strftime("%b") for m in months],
            [("series-1", kpi.label, [stored.get((goal.metric, m.key, goal.scope_key)) for m in months])],
            fmt=formatter(kpi.key),
            y_label=unit_label(kpi).capitalize(),
            y_max=1.0 if kpi.unit == "share" else None,
            width=360,
            height=170,
        )
        drivers = [
            Figure(
                label=KPIS[key].label,
                display=format_value(KPIS[key], stored.get((key, goal.period, goal.scope_key))),
            )
            for key in kpi.drivers
        ]
        contributions = [
            (ref, value)
            for ref, value in campaign_values.get((goal.metric, goal.period), [])
            if isinstance(value, int | float)
        ]
        contributions.sort(key=lambda item: item[1], reverse=kpi.higher_is_better)
        by_campaign = [
            Figure(
                label=labels.get((ScopeKind.CAMPAIGN.value, ref), str(ref)), display=format_value(kpi, value)
            )
            for ref, value in contributions[:TOP_CAMPAIGNS]
        ]
        reviews.append(GoalReview(row=row, trend=trend, drivers=drivers, by_campaign=by_campaign))
    return GoalsPage(reviews=reviews, rows=rows, current_quarter=current_quarter(now))
