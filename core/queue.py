"""The one way the code queues Celery work."""

from __future__ import annotations

import logging
import threading
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
    """Queue a task once the current transaction commits (at once outside a transaction).

    Inside a web request the message is sent once the response has gone out (``send_after_response``): a
    client never waits for the broker, and a task never runs before the change it is about has committed.
    """
    transaction.on_commit(lambda: _send_or_defer(task, args, kwargs))


# Messages of the current web request, sent after its response (None outside a request).
_deferred = threading.local()


def _send_or_defer(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    waiting: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] | None = getattr(_deferred, "messages", None)
    if waiting is None:
        enqueue(task, *args, **kwargs)
    else:
        waiting.append((task, args, kwargs))


def defer_until_response(**kwargs: Any) -> None:
    """``request_started``: messages queued on commit wait until the response has been sent."""
    _deferred.messages = []


def send_after_response(**kwargs: Any) -> None:
    """``request_finished`` (the WSGI server has written the response and closes it): send what waited."""
    waiting = getattr(_deferred, "messages", None)
    _deferred.messages = None
    for task, args, task_kwargs in waiting or ():
        enqueue(task, *args, **task_kwargs)
