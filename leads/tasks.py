"""Celery tasks of the leads app: thin, idempotent, ids only. The logic lives in the domain modules."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from leads import scoring

logger = logging.getLogger(__name__)

_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(**_RETRY, soft_time_limit=120, time_limit=150)
def score_leads_task(lead_ids: list[int]) -> int:
    """Rescore a few leads (a batch of new leads or activities); leads that are gone are skipped."""
    return len(scoring.score_leads(lead_ids=[int(i) for i in lead_ids]))


@shared_task(**_RETRY, soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60)
def rescore_all_task(reason: str = "nightly") -> int:
    """Rescore every lead with the active model (on activation, and nightly because scores decay)."""
    run = scoring.rescore_all(reason=reason)
    return run.done if run is not None else 0


@shared_task(**_RETRY, soft_time_limit=300, time_limit=330)
def sweep_stale_scores_task() -> int:
    """Rescore leads whose score is missing or older than their last change (a lost message, say)."""
    return scoring.sweep_stale_scores()


@shared_task(bind=True, **_RETRY)
def import_csv_task(self, import_id: int) -> None:
    """Import an uploaded CSV; a crash resumes after the last committed batch when the task runs again."""
    # TRICKY: imported here, not at the top: csv_import → ingest → tasks would be a cycle.
    from leads.csv_import import fail_import, run_import

    try:
        run_import(job_id=import_id)
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("CSV import %s failed", import_id)
        fail_import(job_id=import_id, reason=f"{type(exc).__name__}: {exc}")


@shared_task
def resume_stalled_imports_task() -> int:
    """Periodic sweep: an import whose message was lost or whose worker died is queued again."""
    from leads.csv_import import resume_stalled_imports

    return len(resume_stalled_imports())
