from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from leads.csv_import import fail_import, run_import

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def import_csv_task(self, import_id: int) -> None:
    """Import an uploaded CSV; a crash resumes after the last committed batch when the task runs again."""
    try:
        run_import(job_id=import_id)
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("CSV import %s failed", import_id)
        fail_import(job_id=import_id, reason=f"{type(exc).__name__}: {exc}")
