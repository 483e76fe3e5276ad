"""The one way the code queues Celery work."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

from core.burst_log import BurstWarning

logger = logging.getLogger(__name__)
_broker_down = BurstWarning(logger)


def task_named(name: str) -> Any:
    """The registered task of that name. Domain code names the tasks it queues instead of importing the
    ``tasks`` module that imports it back; an unknown name fails loudly here, not silently on a worker."""
    return current_app.tasks[name]


def enqueue(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Send a task (the task or its registered name) without ever letting a broker outage fail the caller.

    PostgreSQL is the source of truth and a periodic sweep finds work whose trigger was lost, so a request
    that cannot reach the broker logs it and carries on instead of waiting or failing.
    """
    if isinstance(task, str):
        task = task_named(task)
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception as exc:
        _broker_down.warn("could not queue %s (%r); the periodic sweeps will pick it up", task.name, exc)
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue a task once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
