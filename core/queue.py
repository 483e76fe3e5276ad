"""The one way the code queues Celery work."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
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
    return enqueue_later(task, 0, *args, **kwargs)


def enqueue_later(task: Any, countdown: float, *args: Any, **kwargs: Any) -> bool:
    """``enqueue``, for a worker to run no sooner than ``countdown`` seconds from now."""
    if isinstance(task, str):
        task = task_named(task)
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown or None, retry=False)
    except Exception as exc:
        _broker_down.warn("could not queue %s (%r); the periodic sweeps will pick it up", task.name, exc)
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue a task once the current transaction commits (at once outside a transaction).

    Inside a web request the message is sent once the response has gone out (``send_after_response``): a
    client never waits for the broker, and a task never runs before the change it is about has committed.
    """
    message = Message(task=task, args=args, kwargs=kwargs)
    transaction.on_commit(lambda: _send_or_defer(message))


def enqueue_ids_on_commit(task: Any, ids: Iterable[int]) -> None:
    """``enqueue_on_commit`` for a task whose one argument is a list of ids: after web requests, the pending
    messages of the same task are merged into one (``IDS_PER_MESSAGE`` ids at most), so a busy web worker
    sends one message for many requests."""
    message = Message(task=task, args=(sorted(set(ids)),), kwargs={}, merge_ids=True)
    transaction.on_commit(lambda: _send_or_defer(message))


# The most ids one merged message carries.
IDS_PER_MESSAGE = 1000


@dataclass(frozen=True)
class Message:
    task: Any  # the task, or its registered name
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    merge_ids: bool = False


def merged(messages: Iterable[Message]) -> list[Message]:
    """The messages to send for these: each mergeable task's ids in one message per ``IDS_PER_MESSAGE``
    (sorted, once each), the others as they are, in the order they came."""
    out: list[Message] = []
    ids_of: dict[str, set[int]] = {}
    task_of: dict[str, Any] = {}
    for message in messages:
        if not message.merge_ids:
            out.append(message)
            continue
        name = message.task if isinstance(message.task, str) else message.task.name
        task_of.setdefault(name, message.task)
        ids_of.setdefault(name, set()).update(message.args[0])
    for name, ids in ids_of.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), IDS_PER_MESSAGE):
            chunk = ordered[start : start + IDS_PER_MESSAGE]
            out.append(Message(task=task_of[name], args=(chunk,), kwargs={}, merge_ids=True))
    return out


def _send(messages: Iterable[Message]) -> None:
    for message in merged(messages):
        enqueue(message.task, *message.args, **message.kwargs)


# Messages of the current web request, sent after its response (None outside a request).
_deferred = threading.local()


def _send_or_defer(message: Message) -> None:
    waiting: list[Message] | None = getattr(_deferred, "messages", None)
    if waiting is None:
        _send([message])
    else:
        waiting.append(message)


class _Publisher:
    """A thread of the web worker that sends what finished requests queued, so that the worker goes on to
    the next request at once; what piled up meanwhile goes out merged (``merged``).

    TRICKY: a worker killed with messages still pending loses them, like a broker outage does: the periodic
    sweeps find the work they were about (DESIGN: Redis carries triggers only). A worker that exits normally
    sends them first (``atexit``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Message] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, messages: list[Message]) -> None:
        with self._lock:
            self._pending.extend(messages)
            # A forked web worker does not inherit its parent's thread: it starts its own.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="queue-publisher", daemon=True)
                self._thread.start()
                atexit.register(self.flush)
        self._wake.set()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        _send(batch)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush()


_publisher = _Publisher()


def defer_until_response(**kwargs: Any) -> None:
    """``request_started``: messages queued on commit wait until the response has been sent."""
    _deferred.messages = []


def send_after_response(**kwargs: Any) -> None:
    """``request_finished`` (the server has written the response and closes it): hand what waited to the
    publishing thread."""
    waiting = getattr(_deferred, "messages", None)
    _deferred.messages = None
    if waiting:
        _publisher.submit(waiting)
