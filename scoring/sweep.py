"""The scoring sweep: find leads whose score a lost message left stale, and rescore them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from leads.models import Activity, Lead
from scoring.models import ScoringRun, ScoringRunStatus
from scoring.qualification import active_scoring_model
from scoring.scoring import score_leads

logger = logging.getLogger(__name__)

SWEEP_ACTIVITY_WINDOW_DAYS = 3
# A change younger than this is left to its own scoring task, which is likely still queued: the sweep
# repairs lost work, it does not race the normal path. Longer than leads.models.SCORE_WRITE_MARGIN, so
# that a lead the sweep rescores is current afterwards.
SWEEP_GRACE = timedelta(seconds=30)


def stale_lead_ids(*, limit: int, now: datetime | None = None) -> list[int]:
    """Leads whose score is missing or older than their last change or their last recorded activity
    (changes younger than ``SWEEP_GRACE`` aside).

    Also leads scored by another model version than the active one, unless a full run is under way (which
    will reach them) or a full run with the active version has finished: a full run writes only the leads
    whose numbers changed, so a lead it left alone still carries the version that last changed its score.
    Activities are looked at for the last few days only: anything older has been through a nightly full
    rescore since.
    """
    now = now or timezone.now()
    model = active_scoring_model()
    if model is None:
        return []
    stale_leads, recent_activities = stale_querysets(now=now, version=model.version)
    ids = set(stale_leads.values_list("pk", flat=True)[:limit])
    if len(ids) < limit:
        ids.update(recent_activities.values_list("lead_id", flat=True).distinct()[: limit - len(ids)])
    return sorted(ids)[:limit]


def stale_querysets(*, now: datetime, version: int) -> tuple[QuerySet[Lead], QuerySet[Activity]]:
    """The stale leads, and the recent activities recorded after their lead was last scored.

    TRICKY: each condition is written so that PostgreSQL answers it from an index, since the sweep runs
    every minute: a missing or changed score from the partial index ``lead_score_stale_idx``, another
    model version as ``< v OR > v`` on ``lead_scoring_version_idx`` (``<> v`` would read every lead),
    recent activities from ``activity_created_idx``. ``tests/scoring/test_sweep_plan.py`` checks the plan.
    """
    settled = now - SWEEP_GRACE
    # Word for word the condition of lead_score_stale_idx.
    changed = Q(scored_at=None) | Q(scored_at__lt=F("updated_at"))
    stale = changed & Q(updated_at__lt=settled)
    # A full run of this version that is running or done covers the leads of other versions: it left the
    # leads whose score did not change alone, with their old version.
    covered = ScoringRun.objects.filter(
        Q(status=ScoringRunStatus.RUNNING, updated_at__gte=now - timedelta(minutes=15))
        | Q(status=ScoringRunStatus.DONE, model_version=version)
    ).exists()
    if not covered:
        stale |= Q(scoring_version__lt=version) | Q(scoring_version__gt=version)
    recent = Activity.objects.filter(
        created_at__gte=now - timedelta(days=SWEEP_ACTIVITY_WINDOW_DAYS),
        created_at__lt=settled,
        created_at__gt=F("lead__scored_at"),
    )
    return Lead.objects.filter(stale).order_by(), recent.order_by()


def sweep_stale_scores(*, limit: int = 20_000, now: datetime | None = None) -> int:
    """Rescore leads a lost message left stale; returns how many."""
    ids = stale_lead_ids(limit=limit, now=now)
    if ids:
        logger.info("scoring sweep: %s stale leads", len(ids))
    return len(score_leads(lead_ids=ids, now=now, reason="sweep"))
