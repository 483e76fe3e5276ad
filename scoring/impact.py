"""What a draft would change if it were activated: how many leads would change grade, and how many would cross
the MQL bar up or down.

The draft's scores are computed the way a full rescore computes them (``scoring.scoring_sql`` on PostgreSQL,
one statement per id range; the Python path elsewhere), and compared with each lead's current score and grade
under the active model's bar: the comparison the rescore on activation would make. Nothing is written but the
counts, on the draft. It runs in a task when the draft is proposed, and again for every draft still waiting
when another version becomes active (the bar it is compared against changed). A count whose message was lost
(or whose worker died) is queued again by a periodic sweep (``claim_lost_impact_counts``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from leads.models import Lead
from scoring import scoring_sql
from scoring.models import ScoringModel, ScoringModelStatus
from scoring.qualification import active_scoring_model, grades_at_or_above
from scoring.rules import LEAD_VALUES, CompiledModel, compile_model, lead_facts
from scoring.scoring import CHUNK, activities_by_lead, evaluate
from scoring.scoring_sql import ImpactCounts, MqlBar

ID_SPAN = 50_000  # lead ids per statement on the SQL path, as in a full rescore
# A count still missing this long after it was queued is queued again. Counting a million leads takes a few
# minutes; if one takes longer, the second count only writes the same figures again.
REQUEUE_AFTER = timedelta(minutes=15)


def mql_bar(model: ScoringModel) -> MqlBar:
    return MqlBar(threshold=model.mql_threshold, grades=tuple(grades_at_or_above(model.min_grade)))


def _meets(bar: MqlBar | None, score: int, grade: str) -> bool:
    return bar is not None and score >= bar.threshold and grade in bar.grades


def _impact_in_python(
    *, model: CompiledModel, now: datetime, old_bar: MqlBar | None, new_bar: MqlBar
) -> ImpactCounts:
    """The Python path: every lead in chunks of ``CHUNK``, keyset by id."""
    total = ImpactCounts()
    last = 0
    while True:
        rows = list(Lead.objects.filter(pk__gt=last).order_by("pk").values(*LEAD_VALUES)[:CHUNK])
        if not rows:
            return total
        last = rows[-1]["id"]
        activities = activities_by_lead(model=model, lead_ids=[row["id"] for row in rows], now=now)
        leads = grade_changes = up = down = 0
        for row in rows:
            new = evaluate(model, lead_facts(row), activities.get(row["id"], ()), now)
            was_in = _meets(old_bar, row["score"], row["grade"])
            is_in = _meets(new_bar, new.score, new.grade)
            leads += 1
            grade_changes += new.grade != row["grade"]
            up += is_in and not was_in
            down += was_in and not is_in
        total += ImpactCounts(leads=leads, grade_changes=grade_changes, mql_up=up, mql_down=down)


def _impact_in_sql(
    *, model: CompiledModel, now: datetime, old_bar: MqlBar | None, new_bar: MqlBar
) -> ImpactCounts:
    """The set-based path: one statement per range of ``ID_SPAN`` lead ids, each in its own transaction."""
    bounds = Lead.objects.aggregate(lo=Min("id"), hi=Max("id"))
    total = ImpactCounts()
    if bounds["lo"] is None:
        return total
    for lo in range(bounds["lo"], bounds["hi"] + 1, ID_SPAN):
        with transaction.atomic():
            total += scoring_sql.impact_counts_sql(
                model=model, now=now, lo=lo, hi=lo + ID_SPAN - 1, old_bar=old_bar, new_bar=new_bar
            )
    return total


def compute_draft_impact(*, version: int, now: datetime | None = None) -> ScoringModel | None:
    """Count what draft ``version`` would change and store it on the draft with ``impact_computed_at``.

    Returns the draft, or ``None`` when it is no longer a draft (activated or rejected meanwhile), or when
    another version became active while the counts were computed (the activation queued a new count).
    Computing reads every lead (one statement per id range on PostgreSQL); no transaction is held across it.
    """
    draft = ScoringModel.objects.filter(version=version, status=ScoringModelStatus.DRAFT).first()
    if draft is None:
        return None
    now = now or timezone.now()
    base = active_scoring_model()
    old_bar = mql_bar(base) if base is not None else None
    compute = _impact_in_sql if scoring_sql.set_based_scoring() else _impact_in_python
    counts = compute(model=compile_model(draft), now=now, old_bar=old_bar, new_bar=mql_bar(draft))
    # TRICKY: an activation (or the sweep) meanwhile stamps a new ``impact_queued_at`` and queues a new count;
    # the stamp read above no longer matches, so these counts, made against the old bar, are dropped. In
    # PostgreSQL the UPDATE waits for an activation in flight and then tests the committed stamp.
    written = ScoringModel.objects.filter(
        pk=draft.pk, status=ScoringModelStatus.DRAFT, impact_queued_at=draft.impact_queued_at
    ).update(
        impact_based_on=base.version if base else None,
        impact_leads=counts.leads,
        impact_grade_changes=counts.grade_changes,
        impact_mql_up=counts.mql_up,
        impact_mql_down=counts.mql_down,
        impact_computed_at=now,
    )
    if not written:
        return None
    draft.refresh_from_db()
    return draft


def claim_lost_impact_counts(*, now: datetime | None = None) -> list[int]:
    """The drafts whose count was queued over ``REQUEUE_AFTER`` ago and never written: each is claimed with a
    conditional update (so two sweeps never both queue it) and its version returned to be queued again."""
    now = now or timezone.now()
    # A draft proposed before counts existed was never queued at all.
    late = Q(impact_queued_at__lt=now - REQUEUE_AFTER) | Q(impact_queued_at=None)
    drafts = ScoringModel.objects.filter(late, status=ScoringModelStatus.DRAFT, impact_computed_at=None)
    claimed = []
    for pk, version, queued_at in drafts.values_list("pk", "version", "impact_queued_at"):
        mine = ScoringModel.objects.filter(pk=pk, impact_computed_at=None, impact_queued_at=queued_at)
        if mine.update(impact_queued_at=now) == 1:
            claimed.append(version)
    return claimed
