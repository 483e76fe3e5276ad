"""Celery tasks of the leads app (CSV imports): thin, idempotent, ids only; logic in the domain modules."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from leads.csv_import import fail_import, resume_stalled_imports, run_import

logger = logging.getLogger(__name__)

_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(bind=True, **_RETRY)
def import_csv_task(self, import_id: int) -> None:
    """Import an uploaded CSV; a crash resumes after the last committed batch when the task runs again."""
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
    return len(resume_stalled_imports())
