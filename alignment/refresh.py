"""A manager asks for fresh KPI numbers: queue the computation, never run it in the request."""

from __future__ import annotations

from typing import Any

from alignment.periods import Period, refresh_periods
from alignment.tasks import refresh_kpis_task
from core.audit import record
from core.queue import enqueue_on_commit


def request_refresh(*, actor: Any, periods: list[Period] | None = None) -> list[str]:
    """Queue a recomputation of ``periods`` (default: current and previous month and quarter)."""
    keys = list(dict.fromkeys(period.key for period in (periods or refresh_periods())))
    record(actor=actor, action="kpis.refresh_requested", data={"periods": keys})
    enqueue_on_commit(refresh_kpis_task, keys)
    return keys
