"""The scoring sweep: find leads whose score a lost message left stale, and rescore them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from leads.models import Activity, Lead
from scoring.models import ScoringRun, ScoringRunStatus
from scoring.qualification import active_scoring_model
from scoring.scoring import score_leads

logger = logging.getLogger(__name__)

SWEEP_ACTIVITY_WINDOW_DAYS = 3


def stale_lead_ids(*, limit: int, now: datetime | None = None) -> list[int]:
    """Leads whose score is missing or older than their last change or their last recorded activity.

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
    stale = Q(scored_at=None) | Q(scored_at__lt=F("updated_at"))
    covered = ScoringRun.objects.filter(
        Q(status=ScoringRunStatus.RUNNING, updated_at__gte=now - timedelta(minutes=15))
        | Q(status=ScoringRunStatus.DONE, model_version=model.version)
    ).exists()
    if not covered:
        stale |= ~Q(scoring_version=model.version)
    ids = set(Lead.objects.filter(stale).order_by().values_list("pk", flat=True)[:limit])
    if len(ids) < limit:
        recent = Activity.objects.filter(
            created_at__gte=now - timedelta(days=SWEEP_ACTIVITY_WINDOW_DAYS),
            created_at__gt=F("lead__scored_at"),
        )
        ids.update(recent.order_by().values_list("lead_id", flat=True).distinct()[: limit - len(ids)])
    return sorted(ids)[:limit]


def sweep_stale_scores(*, limit: int = 20_000, now: datetime | None = None) -> int:
    """Rescore leads a lost message left stale; returns how many."""
    ids = stale_lead_ids(limit=limit, now=now)
    if ids:
        logger.info("scoring sweep: %s stale leads", len(ids))
    return len(score_leads(lead_ids=ids, now=now, reason="sweep"))
