"""What the shared dashboard shows for one period and scope, read from KPI snapshots only.

``build_dashboard`` runs a fixed number of queries whatever the number of leads: the page never aggregates
the pipeline, it reads the snapshots that ``alignment.snapshots.compute_snapshots`` wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from django.db.models import Case, When
from django.utils import timezone

from alignment.dashboard_filters import Filters
from alignment.goal_display import GoalRow, goal_rows
from alignment.goals import progress_for
from alignment.kpi_definitions import KPIS, NUMERIC_KEYS, REGISTRY, Kpi
from alignment.kpi_format import format_value, formatter
from alignment.models import Goal, KpiSnapshot
from alignment.periods import Period, trend_months
from alignment.scopes import Scope
from alignment.snapshots import PRIOR
from core.charts import BarChart, HBarChart, LineChart, bar_chart, hbar_chart, line_chart

# The stages of the waterfall: (label, KPI, the CSS class of the team that owns the stage).
WATERFALL = [
    ("New leads", "new_leads", "team-marketing"),
    ("MQL", "mqls", "team-marketing"),
    ("SAL", "sals", "team-sales"),
    ("SQL", "sqls", "team-sales"),
    ("Opportunity", "opportunities", "team-sales"),
    ("Won", "won", "team-sales"),
]
TILES = ["mqls", "sqls", "acceptance_rate", "sla_compliance", "won_amount", "funnel_depth_credit"]
# Each team's promise to the other.
SCOREBOARD = {
    "marketing": ["mqls", "acceptance_rate"],
    "sales": ["sla_compliance", "median_hours_to_accept"],
}


# --- Snapshots ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Values:
    """Snapshot values of one scope: ``get(period, key)``; ``prior`` holds, for a period computed while it
    ran, the previous period's values up to the same point (``alignment.snapshots.PRIOR``). ``computed_at``
    has the newest time of the ``dated`` period's snapshots (``read_values``)."""

    by_period: dict[str, dict[str, Any]]
    computed_at: dict[str, datetime]
    prior: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, period: Period, key: str) -> Any:
        return self.by_period.get(period.key, {}).get(key)


def read_values(*, scope: Scope, periods: list[Period], dated: Period) -> Values:
    """The snapshots of one scope for ``periods`` and ``dated``, and when ``dated``'s were computed (one
    query). Only ``dated``'s times are read: turning a timestamp into a datetime costs more than the rest of
    a row, and a dashboard reads some 250 rows to show one period's time."""
    by_period: dict[str, dict[str, Any]] = {}
    prior: dict[str, dict[str, Any]] = {}
    computed_at: dict[str, datetime] = {}
    rows = KpiSnapshot.objects.filter(
        period__in={dated.key, *(p.key for p in periods)}, scope_kind=scope.kind, scope_ref=scope.ref
    ).values_list("period", "metric", "value", Case(When(period=dated.key, then="computed_at")))
    for period, metric, value, at in rows:
        if metric.startswith(PRIOR):
            prior.setdefault(period, {})[metric.removeprefix(PRIOR)] = value
            continue
        by_period.setdefault(period, {})[metric] = value
        if at is not None and (period not in computed_at or at > computed_at[period]):
            computed_at[period] = at
    return Values(by_period=by_period, computed_at=computed_at, prior=prior)


@dataclass(frozen=True)
class Comparison:
    """What the period's numbers are compared with: values, and how the page names them."""

    values: dict[str, Any]
    label: str  # after "vs": "1-2 Nov" (with an en dash), "Nov 2026", "Nov 2026 (whole month)"
    title: str  # the same, said in full (a tooltip)


def _days(first: date, last: date) -> str:
    """``1-2 Nov``, ``1 Nov``, ``1 Jul - 14 Aug``, with en dashes."""
    if first == last:
        return f"{first.day} {first:%b}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}\u2013{last.day} {last:%b}"
    return f"{first.day} {first:%b} \u2013 {last.day} {last:%b}"


def comparison(values: Values, period: Period) -> Comparison:
    """The fair comparison for ``period``'s numbers.

    Numbers computed after the period ended compare with the whole previous period. Numbers computed while
    it ran compare with the previous period up to the same point, computed with them; if those are missing
    (numbers computed before they were kept), with the whole previous period, and the label says so.
    """
    previous = period.previous()
    as_of = values.computed_at.get(period.key)
    whole = values.by_period.get(previous.key, {})
    if as_of is None or as_of >= period.end:
        return Comparison(whole, previous.label, f"Compared with the whole of {previous.label}.")
    prior = values.prior.get(period.key)
    if not prior:
        span = "quarter" if previous.is_quarter else "month"
        return Comparison(
            whole,
            f"{previous.label} (whole {span})",
            f"{period.label} is still running; compared with the whole of {previous.label}.",
        )
    cut = period.same_point_in_previous(as_of)
    if cut >= previous.end:
        label = previous.label
    else:
        last = timezone.localtime(cut - timedelta(microseconds=1)).date()
        label = _days(previous.first_day, last)
    return Comparison(
        prior,
        label,
        f"{period.label} up to {_moment(as_of)} compared with {previous.label} up to the same point,"
        f" {_moment(cut)}.",
    )


def _moment(at: datetime) -> str:
    local = timezone.localtime(at)
    return f"{local.day} {local:%b, %H:%M}"


# --- What the page shows --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    kpi: Kpi
    display: str
    delta: str  # the change against ``Dashboard.comparison``, "" when there is nothing to compare
    tone: str  # good, bad or flat


@dataclass(frozen=True)
class WaterfallRow:
    label: str
    count: int | None
    conversion: float | None  # entries as a share of the previous stage's


@dataclass(frozen=True)
class ScoreItem:
    kpi: Kpi
    display: str
    goal: GoalRow | None  # the goal on this KPI for the period and scope shown


@dataclass(frozen=True)
class ScoreboardSide:
    team: str
    items: list[ScoreItem]


@dataclass(frozen=True)
class Trends:
    volume: BarChart
    rates: LineChart
    won: BarChart
    speed: LineChart


@dataclass(frozen=True)
class TrendRow:
    period: Period
    values: list[Any]  # in the order of ``Dashboard.trend_keys``


@dataclass(frozen=True)
class ReasonRow:
    slug: str
    label: str
    count: int


@dataclass(frozen=True)
class KpiRow:
    kpi: Kpi
    value: Any
    display: str
    previous: str


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    period: Period
    previous: Period
    comparison: Comparison
    computed_at: datetime | None
    tiles: list[Tile]
    waterfall: BarChart
    waterfall_rows: list[WaterfallRow]
    goals: list[GoalRow]
    scoreboard: list[ScoreboardSide]
    trends: Trends
    trend_keys: list[str]
    trend_rows: list[TrendRow]
    reasons: list[ReasonRow]
    reasons_chart: HBarChart
    kpi_rows: list[KpiRow]


def _delta(kpi: Kpi, now: Any, before: Any) -> tuple[str, str]:
    """The change from ``before`` to ``now`` as text, and whether it is good or bad news."""
    if now is None or before is None or isinstance(now, dict):
        return "", ""
    diff = float(now) - float(before)
    if abs(diff) < 1e-9:
        return "no change", "flat"
    if kpi.unit == "share":
        text = f"{diff * 100:+.0f} pts"
    elif before:
        text = f"{diff / float(before) * 100:+.0f} %"
    else:
        text = f"{diff:+,.0f}"
    good = (diff > 0) == kpi.higher_is_better
    return text, "good" if good else "bad"


def _waterfall(current: dict[str, Any], period: Period) -> tuple[BarChart, list[WaterfallRow]]:
    counts = [(label, current.get(key), css) for label, key, css in WATERFALL]
    rows = []
    for index, (label, count, _) in enumerate(counts):
        before = counts[index - 1][1] if index else None
        rows.append(
            WaterfallRow(label=label, count=count, conversion=(count or 0) / before if before else None)
        )
    chart = bar_chart(
        [(label, [(count, css, label)]) for label, count, css in counts],
        fmt=formatter("mqls"),
        y_label="Leads entering the stage",
        x_label=f"Stage · {period.label}",
        height=300,
    )
    for index, (before, row) in enumerate(pairwise(rows), start=1):
        if row.conversion is not None:
            chart.note_between(
                index,
                text=f"{row.conversion * 100:.0f} %",
                title=f"{before.label} → {row.label}: {row.conversion * 100:.1f} % of the entries",
            )
    return chart, rows


def _trends(values: Values, months: list[Period], *, now: datetime) -> Trends:
    labels = [m.first_day.strftime("%b") for m in months]
    # A month still running is marked as such, not plotted as a drop.
    partial = bool(months) and months[-1].start <= now < months[-1].end

    def series(key: str) -> list[Any]:
        return [values.get(m, key) for m in months]

    return Trends(
        volume=bar_chart(
            [
                (
                    label,
                    [
                        (values.get(m, "mqls"), "series-mql", "MQLs"),
                        (values.get(m, "sqls"), "series-sql", "SQLs"),
                    ],
                )
                for label, m in zip(labels, months, strict=True)
            ],
            fmt=formatter("mqls"),
            y_label="Leads",
            height=240,
            legend=[("series-mql", "MQLs"), ("series-sql", "SQLs")],
            values_on_bars=False,
            partial_last=partial,
        ),
        rates=line_chart(
            labels,
            [
                ("series-accept", "Acceptance rate", series("acceptance_rate")),
                ("series-sla", "SLA compliance", series("sla_compliance")),
            ],
            fmt=formatter("acceptance_rate"),
            y_label="Share (%)",
            y_max=1.0,
            partial_last=partial,
        ),
        won=bar_chart(
            [
                (label, [(values.get(m, "won_amount"), "series-won", "Won amount")])
                for label, m in zip(labels, months, strict=True)
            ],
            fmt=formatter("won_amount"),
            y_label="Currency units",
            height=240,
            values_on_bars=False,
            partial_last=partial,
        ),
        speed=line_chart(
            labels,
            [("series-speed", "Median hours to accept", series("median_hours_to_accept"))],
            fmt=formatter("median_hours_to_accept"),
            y_label="Hours",
            partial_last=partial,
        ),
    )


def build_dashboard(filters: Filters, *, now: datetime | None = None) -> Dashboard:
    """The dashboard of the filters' period and scope (three queries besides the filters' own)."""
    now = now or timezone.now()
    period, scope = filters.period, filters.scope
    previous = period.previous()
    months = trend_months(period)
    values = read_values(scope=scope, periods=[*months, previous], dated=period)
    current = values.by_period.get(period.key, {})

    goal_periods = {period.key, *(m.key for m in period.months())}
    if not period.is_quarter:
        goal_periods.add(period.quarter().key)
    goals = list(Goal.objects.with_scope().filter(period__in=goal_periods).order_by("period", "name", "id"))
    goals_here = goal_rows(goals, progress_for(goals, now=now), filters.options.scope_labels())

    def goal_for(metric: str) -> GoalRow | None:
        return next(
            (
                row
                for row in goals_here
                if row.goal.metric == metric
                and row.goal.scope_key == scope.key
                and row.goal.period == period.key
            ),
            None,
        )

    versus = comparison(values, period)
    tiles = []
    for key in TILES:
        delta, tone = _delta(KPIS[key], current.get(key), versus.values.get(key))
        tiles.append(Tile(kpi=KPIS[key], display=format_value(key, current.get(key)), delta=delta, tone=tone))
    waterfall, waterfall_rows = _waterfall(current, period)
    scoreboard = [
        ScoreboardSide(
            team=team,
            items=[
                ScoreItem(kpi=KPIS[key], display=format_value(key, current.get(key)), goal=goal_for(key))
                for key in keys
            ],
        )
        for team, keys in SCOREBOARD.items()
    ]
    reason_labels = filters.options.reason_labels()
    reasons = sorted((current.get("reject_reasons") or {}).items(), key=lambda item: (-item[1], item[0]))
    reason_rows = [ReasonRow(slug=slug, label=reason_labels.get(slug, slug), count=n) for slug, n in reasons]
    return Dashboard(
        filters=filters,
        period=period,
        previous=previous,
        comparison=versus,
        computed_at=values.computed_at.get(period.key),
        tiles=tiles,
        waterfall=waterfall,
        waterfall_rows=waterfall_rows,
        goals=goals_here,
        scoreboard=scoreboard,
        trends=_trends(values, months, now=now),
        trend_keys=NUMERIC_KEYS,
        trend_rows=[TrendRow(period=m, values=[values.get(m, key) for key in NUMERIC_KEYS]) for m in months],
        reasons=reason_rows,
        reasons_chart=hbar_chart(
            [(row.label, row.count) for row in reason_rows],
            fmt=lambda v: f"{int(v):,}",
            x_label="Leads rejected",
        ),
        kpi_rows=[
            KpiRow(
                kpi=kpi,
                value=current.get(kpi.key),
                display=format_value(kpi, current.get(kpi.key)),
                previous=format_value(kpi, versus.values.get(kpi.key)),
            )
            for kpi in REGISTRY
        ],
    )
