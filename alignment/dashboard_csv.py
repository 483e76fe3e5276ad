"""The dashboard's and the goals page's tables as CSV rows (``?format=csv``; ``core.csv_export`` escapes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alignment.dashboard import Dashboard
from alignment.goal_display import GoalRow

Table = tuple[list[str], list[list[Any]]]


def _kpis(d: Dashboard) -> Table:
    return ["period", "scope", "key", "label", "unit", "value"], [
        [d.period.key, d.filters.scope.text, r.kpi.key, r.kpi.label, r.kpi.unit, _cell(r.value)]
        for r in d.kpi_rows
    ]


def _waterfall(d: Dashboard) -> Table:
    return ["period", "scope", "stage", "leads", "conversion_from_previous"], [
        [d.period.key, d.filters.scope.text, r.label, r.count, _round(r.conversion)] for r in d.waterfall_rows
    ]


def _goals(d: Dashboard) -> Table:
    return goals_csv(d.goals)


def _scoreboard(d: Dashboard) -> Table:
    return ["period", "scope", "team", "kpi", "value", "goal"], [
        [
            d.period.key,
            d.filters.scope.text,
            side.team,
            item.kpi.key,
            item.display,
            item.goal.target_display if item.goal else "",
        ]
        for side in d.scoreboard
        for item in side.items
    ]


def _trends(d: Dashboard) -> Table:
    return ["month", "scope", *d.trend_keys], [
        [r.period.key, d.filters.scope.text, *r.values] for r in d.trend_rows
    ]


def _reasons(d: Dashboard) -> Table:
    return ["period", "scope", "reason", "label", "leads"], [
        [d.period.key, d.filters.scope.text, r.slug, r.label, r.count] for r in d.reasons
    ]


TABLES: dict[str, Callable[[Dashboard], Table]] = {
    "kpis": _kpis,
    "waterfall": _waterfall,
    "goals": _goals,
    "scoreboard": _scoreboard,
    "trends": _trends,
    "reasons": _reasons,
}


def dashboard_csv(dashboard: Dashboard, table: str) -> Table | None:
    """Header and rows of one dashboard table, for ``?format=csv&table=…`` (``None`` if unknown)."""
    export = TABLES.get(table)
    return export(dashboard) if export else None


def goals_csv(rows: list[GoalRow]) -> Table:
    header = ["name", "metric", "period", "scope", "target", "value", "ratio", "expected_ratio", "status"]
    return header, [
        [
            r.goal.name,
            r.goal.metric,
            r.goal.period,
            r.goal.scope,
            float(r.goal.target),
            _cell(r.progress.value),
            r.progress.ratio,
            r.progress.expected_ratio,
            r.progress.status,
        ]
        for r in rows
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
