"""A goal as the pages show it: its progress bar and its value, target and pace written out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alignment.goals import STATUS_LABELS, Progress
from alignment.kpi_definitions import KPIS, Kpi
from alignment.kpi_format import format_target
from alignment.models import Goal
from alignment.scopes import ScopeKey
from core.charts import ProgressBar, progress_bar


@dataclass(frozen=True)
class GoalRow:
    """The dashboard caches rendered rows under their repr: what it shows of the goal is copied into the row
    (``name``, ``period``), as the model's repr names only some of its fields."""

    goal: Goal
    name: str
    period: str
    kpi: Kpi
    progress: Progress
    bar: ProgressBar
    value_display: str
    target_display: str
    pace_display: str
    status_label: str
    scope_label: str


def goal_rows(
    goals: list[Goal], progress: dict[int, Progress], scope_labels: Mapping[ScopeKey, str]
) -> list[GoalRow]:
    """A row per goal on a KPI of the registry (a goal on a KPI no longer defined is left out)."""
    rows = []
    for goal in goals:
        kpi = KPIS.get(goal.metric)
        if kpi is None:
            continue
        p = progress[goal.pk]
        rows.append(
            GoalRow(
                goal=goal,
                name=goal.name,
                period=goal.period,
                kpi=kpi,
                progress=p,
                bar=progress_bar(p.ratio, p.expected_ratio, p.status),
                value_display=format_target(kpi, p.value),
                target_display=format_target(kpi, goal.target),
                pace_display=format_target(kpi, float(goal.target) * p.expected_ratio),
                status_label=STATUS_LABELS[p.status],
                scope_label=scope_labels.get(goal.scope_key) or goal.scope,
            )
        )
    return rows
