"""Celery tasks of scoring: thin, idempotent, ids only. The logic lives in the domain modules."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from core.queue import enqueue, enqueue_later
from scoring.impact import claim_lost_impact_counts, compute_draft_impact
from scoring.rescore import rescore_all
from scoring.scoring import busy_leads, score_leads
from scoring.sweep import sweep_stale_scores

_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


# A lead another transaction is writing is tried again this often, for a minute; then the sweep has it.
BUSY_RETRY_SECONDS = 0.25
BUSY_RETRIES = 240


@shared_task(**_RETRY, soft_time_limit=120, time_limit=150)
def score_leads_task(lead_ids: list[int], attempt: int = 0) -> int:
    """Rescore a few leads (a batch of new leads or activities); leads that are gone are skipped, leads being
    written elsewhere (a full rescore's range holds them, say) are tried again shortly after."""
    ids = [int(i) for i in lead_ids]
    done = score_leads(lead_ids=ids)
    busy = busy_leads(requested=ids, done=done)
    if busy and attempt < BUSY_RETRIES:
        enqueue_later(score_leads_task, BUSY_RETRY_SECONDS, busy, attempt=attempt + 1)
    return len(done)


@shared_task(**_RETRY, soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60)
def rescore_all_task(reason: str = "nightly") -> int:
    """Rescore every lead with the active model (on activation, and nightly because scores decay)."""
    run = rescore_all(reason=reason)
    return run.done if run is not None else 0


@shared_task(**_RETRY, soft_time_limit=300, time_limit=330)
def sweep_stale_scores_task() -> int:
    """Rescore leads whose score is missing or older than their last change (a lost message, say)."""
    return sweep_stale_scores()


@shared_task(**_RETRY, soft_time_limit=3600, time_limit=3600 + 60)
def compute_draft_impact_task(version: int) -> bool:
    """Count what a draft would change if activated; a version no longer a draft is skipped."""
    return compute_draft_impact(version=int(version)) is not None


@shared_task(**_RETRY, soft_time_limit=60, time_limit=90)
def sweep_draft_impacts_task() -> int:
    """Queue again the impact counts whose message was lost or whose worker died."""
    versions = claim_lost_impact_counts()
    for version in versions:
        enqueue(compute_draft_impact_task, version)
    return len(versions)
