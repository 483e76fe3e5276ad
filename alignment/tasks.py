"""Celery tasks for KPIs: a few lines each, calling ``alignment.snapshots``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from alignment.periods import InvalidPeriod, parse_period, refresh_periods
from alignment.snapshots import compute_snapshots

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    soft_time_limit=540,
    time_limit=600,
)
def refresh_kpis_task(periods: list[str] | None = None) -> int:
    """Recompute the snapshots of ``periods`` (default: current and previous month and quarter).

    Safe to run twice or concurrently: snapshots are upserted, so a duplicate only moves ``computed_at``.
    """
    if periods:
        wanted = []
        for key in periods:
            try:
                wanted.append(parse_period(key))
            except InvalidPeriod:
                logger.warning("refresh_kpis_task: ignoring invalid period %r", key)
    else:
        wanted = refresh_periods()
    return sum(compute_snapshots(period=period) for period in dict.fromkeys(wanted))
