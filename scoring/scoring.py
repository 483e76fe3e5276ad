"""Lead scoring, the incremental path: score a few leads at a time in Python with the active model.

New leads, new activities and the sweep come through ``score_leads``; full runs over every lead are
``scoring.rescore``, whose SQL statement (``scoring.scoring_sql``) gives exactly the same numbers as
``evaluate`` here. What the rules mean, and why both paths agree to the last digit, is in
``scoring.rules``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.models import SCORE_WRITE_MARGIN, Activity, Lead
from scoring.models import ScoreChange
from scoring.qualification import active_scoring_model
from scoring.rules import (
    BUCKET_DAYS,
    LEAD_VALUES,
    MAX_HALVINGS,
    MICRO,
    TIMES,
    CompiledModel,
    compile_model,
    lead_facts,
)
from scoring.scoring_sql import write_scores
from scoring.signals import leads_scored

CHUNK = 1000  # leads per transaction


def decayed_micro_points(points: int, age_days: float, half_life_days: float) -> int:
    """One activity's decayed points in micro-points (the SQL path computes the same expression)."""
    halvings = min(age_days / half_life_days, MAX_HALVINGS)
    return math.floor(float(points) * (0.5**halvings) * float(MICRO) + 0.5)


@dataclass
class Score:
    fit: int
    engagement: int
    grade: str
    breakdown: list[dict[str, Any]] = field(default_factory=list)

    @property
    def score(self) -> int:
        return self.fit + self.engagement


def engagement_lines(
    model: CompiledModel, activities: Iterable[tuple[int, str, datetime]], now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """Engagement points and their breakdown lines from ``(id, type, occurred_at)`` activities."""
    counted: dict[str, list[int]] = {}  # type -> [count, micro-points]
    seen_in_bucket: dict[tuple[str, int], int] = {}
    for _, activity_type, occurred_at in sorted(activities, key=lambda a: (a[2], a[0]), reverse=True):
        rule = model.engagement_rules.get(activity_type)
        if rule is None or occurred_at > now:
            continue
        age_days = (now - occurred_at).total_seconds() / 86400.0
        bucket = (activity_type, math.floor(age_days / BUCKET_DAYS))
        seen_in_bucket[bucket] = seen_in_bucket.get(bucket, 0) + 1
        if seen_in_bucket[bucket] > rule.max_per_30_days:
            continue
        line = counted.setdefault(activity_type, [0, 0])
        line[0] += 1
        line[1] += decayed_micro_points(rule.points, age_days, model.half_life_days)
    rules = [rule for rule in model.engagement_in_order if rule.activity_type in counted]
    total = (sum(counted[r.activity_type][1] for r in rules) + MICRO // 2) // MICRO
    bases = {r.activity_type: counted[r.activity_type][1] // MICRO for r in rules}
    extra = total - sum(bases.values())
    # Largest remainder: the rounding's leftover points go to the lines closest to their next point.
    by_remainder = sorted(rules, key=lambda r: (-(counted[r.activity_type][1] % MICRO), r.order))
    lucky = {r.activity_type for r in by_remainder[:extra]}
    lines = [
        {
            "rule": f"{r.label} {TIMES}{counted[r.activity_type][0]}",
            "points": bases[r.activity_type] + (1 if r.activity_type in lucky else 0),
        }
        for r in rules
    ]
    return total, lines


def evaluate(
    model: CompiledModel,
    facts: dict[str, Any],
    activities: Iterable[tuple[int, str, datetime]],
    now: datetime,
) -> Score:
    """Score one lead: fit from its attributes, engagement from its activities."""
    matched = [rule for rule in model.fit_rules if rule.matches(facts)]
    fit = sum(rule.points for rule in matched)
    engagement, lines = engagement_lines(model, activities, now)
    breakdown = [{"rule": rule.label, "points": rule.points} for rule in matched] + lines
    return Score(fit=fit, engagement=engagement, grade=model.grade_for(fit), breakdown=breakdown)


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def score_leads(
    *, lead_ids: Iterable[int], now: datetime | None = None, reason: str = "incremental"
) -> list[int]:
    """Rescore these leads with the active model; returns the ids rescored (leads that are gone are skipped).

    One transaction per chunk of 1,000 leads; ``leads_scored`` is sent inside it.
    """
    ids = sorted(set(lead_ids))
    model = active_scoring_model()
    if model is None or not ids:
        return []
    compiled = compile_model(model)
    now = now or timezone.now()
    done: list[int] = []
    for chunk in _chunks(ids, CHUNK):
        with transaction.atomic():
            done.extend(score_chunk(model=compiled, lead_ids=chunk, now=now, reason=reason))
    return done


def busy_leads(*, requested: Iterable[int], done: Iterable[int]) -> list[int]:
    """Of the leads asked for, those that exist but were not scored: another transaction was writing them
    (a full rescore's range, an upsert, new activities), so ``score_chunk`` skipped them."""
    left = set(requested) - set(done)
    if not left:
        return []
    return sorted(Lead.objects.filter(pk__in=left).values_list("pk", flat=True))


def activities_by_lead(
    *, model: CompiledModel, lead_ids: list[int], now: datetime
) -> dict[int, list[tuple[int, str, datetime]]]:
    """The activities ``model`` counts for these leads, as ``evaluate`` takes them (one query)."""
    activities: dict[int, list[tuple[int, str, datetime]]] = {}
    if model.engagement_rules:
        for lead_id, activity_id, activity_type, occurred_at in Activity.objects.filter(
            lead_id__in=lead_ids,
            type__in=list(model.engagement_rules),
            occurred_at__lte=now,
        ).values_list("lead_id", "id", "type", "occurred_at"):
            activities.setdefault(lead_id, []).append((activity_id, activity_type, occurred_at))
    return activities


def score_chunk(
    *, model: CompiledModel, lead_ids: list[int], now: datetime, reason: str, only_changed: bool = False
) -> list[int]:
    """Score these leads with ``model``, write their scores and history rows, and send ``leads_scored``.

    With ``only_changed`` (full runs) only leads whose score, grade or breakdown changed are written and
    announced, as the SQL path does. Call inside a transaction. Returns the ids written.
    """
    values = (*LEAD_VALUES, *_OLD_NUMBERS) if only_changed else LEAD_VALUES
    # TRICKY: a lead that another transaction is writing (an upsert, or new activities: their foreign key
    # holds a share lock on it) is skipped, not scored from a snapshot without the change. Scored here, it
    # would get a ``scored_at`` later than the change's timestamp, and the sweep would never see it stale;
    # skipped, it is scored by the task its writer queues on commit, or by the sweep if that message is lost.
    rows = list(
        Lead.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=lead_ids)
        .order_by("pk")
        .values(*values)
    )
    if not rows:
        return []
    activities = activities_by_lead(model=model, lead_ids=[row["id"] for row in rows], now=now)
    updates: list[tuple[Any, ...]] = []
    changes: list[ScoreChange] = []
    for row in rows:
        result = evaluate(model, lead_facts(row), activities.get(row["id"], ()), now)
        first = row["scored_at"] is None
        if only_changed and not first and _unchanged(row, result):
            continue
        updates.append(
            (
                result.score,
                result.fit,
                result.engagement,
                result.grade,
                result.breakdown,
                now - SCORE_WRITE_MARGIN,
                model.version,
                row["id"],
            )
        )
        if first or row["score"] != result.score or row["grade"] != result.grade:
            changes.append(
                ScoreChange(
                    lead_id=row["id"],
                    at=now,
                    model_version=model.version,
                    score=result.score,
                    grade=result.grade,
                    previous_score=None if first else row["score"],
                    previous_grade="" if first else row["grade"],
                    reason=reason,
                )
            )
    write_scores(rows=updates)
    ScoreChange.objects.bulk_create(changes, batch_size=1000)
    scored = [update[-1] for update in updates]
    leads_scored.send(sender=Lead, lead_ids=scored)
    return scored


_OLD_NUMBERS = ("fit_score", "engagement_score", "score_breakdown")


def _unchanged(row: dict[str, Any], result: Score) -> bool:
    return (
        row["score"] == result.score
        and row["fit_score"] == result.fit
        and row["engagement_score"] == result.engagement
        and row["grade"] == result.grade
        and row["score_breakdown"] == result.breakdown
    )
