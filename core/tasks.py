from __future__ import annotations

from celery import shared_task

from core.idempotency import purge_expired_keys
from core.maintenance_sql import analyze_busy_tables


@shared_task
def purge_idempotency_keys_task() -> int:
    return purge_expired_keys()


@shared_task(soft_time_limit=300, time_limit=330)
def analyze_busy_tables_task() -> list[str]:
    """After floods of writes (API batches, imports), refresh the planner's statistics of those tables."""
    return analyze_busy_tables()
