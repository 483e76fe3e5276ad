"""What the scoring page shows: the score distribution by grade and the calibration of score bands.

Calibration counts, per score band, how many leads reached SAL, SQL and Won. "Reached" is read from each
lead's transitions (``leads.pipeline.reached_q``), not from its current stage: a lead that went SAL → Lost
did reach SAL. A lead reached a milestone when it ever entered a stage of that kind or a later one, so
stages that managers add count by their kind, and a history imported without every step still counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from core.charts import StackedChart, stacked_bar_chart
from leads.models import Lead, StageKind
from leads.pipeline import reached_q
from scoring.models import ScoringModel, ScoringRun, ScoringRunStatus

K = StageKind
# The stage kinds whose entry means a lead has reached each milestone.
REACHED: dict[str, tuple[str, ...]] = {
    "sal": (K.SAL, K.SQL, K.OPPORTUNITY, K.WON),
    "sql": (K.SQL, K.OPPORTUNITY, K.WON),
    "won": (K.WON,),
}

HISTOGRAM_BANDS = [(None, 0), *((low, low + 10) for low in range(0, 100, 10)), (100, None)]
CALIBRATION_BANDS = [(None, 20), (20, 40), (40, 60), (60, 80), (80, None)]
GRADES = ("A", "B", "C", "D")


def band_label(low: int | None, high: int | None) -> str:
    if low is None:
        return f"under {high}"
    if high is None:
        return f"{low}+"
    return f"{low}\u2013{high - 1}"


def _band_case(bands: list[tuple[int | None, int | None]]) -> Case:
    whens = []
    for index, (low, high) in enumerate(bands):
        condition = Q()
        if low is not None:
            condition &= Q(score__gte=low)
        if high is not None:
            condition &= Q(score__lt=high)
        whens.append(When(condition, then=Value(index)))
    return Case(*whens, output_field=IntegerField())


@dataclass(frozen=True)
class ScoreDistribution:
    chart: StackedChart  # one stack per score band, grade D at the bottom, A on top
    total: int
    by_grade: dict[str, int]


def score_distribution(*, width: int = 720, height: int = 200) -> ScoreDistribution:
    """Lead counts per score band, stacked by grade, as a chart (one query)."""
    counts: dict[tuple[int, str], int] = {}
    rows = (
        Lead.objects.annotate(band=_band_case(HISTOGRAM_BANDS))
        .values("band", "grade")
        .annotate(n=Count("id"))
    )
    for row in rows.order_by():
        counts[(row["band"], row["grade"])] = row["n"]
    chart = stacked_bar_chart(
        [
            (
                band_label(low, high),
                [
                    (counts.get((index, grade), 0), f"seg seg-{grade}", f"grade {grade}")
                    for grade in reversed(GRADES)
                ],
            )
            for index, (low, high) in enumerate(HISTOGRAM_BANDS)
        ],
        fmt=lambda count: str(int(count)),
        width=width,
        height=height,
    )
    by_grade = {g: sum(counts.get((i, g), 0) for i in range(len(HISTOGRAM_BANDS))) for g in GRADES}
    return ScoreDistribution(chart=chart, total=sum(by_grade.values()), by_grade=by_grade)


def calibration() -> list[dict[str, Any]]:
    """Per score band (by current score): leads, and how many (and what share) ever reached SAL, SQL and Won
    (one query)."""
    rows = (
        Lead.objects.annotate(band=_band_case(CALIBRATION_BANDS))
        .values("band")
        .annotate(
            total=Count("id"),
            **{name: Count("id", filter=reached_q(kinds)) for name, kinds in REACHED.items()},
        )
        .order_by()
    )
    found = {row["band"]: row for row in rows}
    out = []
    for index, (low, high) in enumerate(CALIBRATION_BANDS):
        row = found.get(index, {"total": 0, "sal": 0, "sql": 0, "won": 0})
        total = row["total"]
        out.append(
            {
                "band": band_label(low, high),
                "total": total,
                **{name: row[name] for name in REACHED},
                **{f"{name}_rate": (row[name] / total if total else None) for name in REACHED},
            }
        )
    return out


def latest_run() -> ScoringRun | None:
    return ScoringRun.objects.order_by("-started_at", "-id").first()


# How long after an activation the page keeps waiting for its full rescore to start: a worker picks it up in
# seconds; past this, none is running and polling would only wait in vain.
RESCORE_START_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class RescoreProgress:
    run: ScoringRun | None  # the latest full rescore
    waiting_for: int | None  # a version activated lately whose full rescore has not started yet

    @property
    def polling(self) -> bool:
        """Whether the page should keep asking: a rescore is running or about to start."""
        running = self.run is not None and self.run.status == ScoringRunStatus.RUNNING
        return self.waiting_for is not None or running


def rescore_progress(*, active: ScoringModel | None) -> RescoreProgress:
    """The latest full rescore, and whether the activation of ``active`` still waits for its own rescore
    (one query)."""
    run = latest_run()
    waiting_for = None
    activated = active.activated_at if active is not None else None
    # The seeded first version was never approved and queued no rescore: only an approval's activation does.
    if (
        active is not None
        and active.approved_by_marketing_id is not None
        and active.approved_by_sales_id is not None
        and activated is not None
        and timezone.now() - activated < RESCORE_START_WINDOW
        and (run is None or run.started_at < activated)
    ):
        waiting_for = active.version
    return RescoreProgress(run=run, waiting_for=waiting_for)
