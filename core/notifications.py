"""In-app notifications: telling users (set-based), their unread count, marking them read.

Every notification goes through ``notify``/``notify_each``: one bulk insert for the whole set, the cached
unread counts of the recipients dropped in one call, and the e-mail for those who want it at once queued
after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.models import Notification
from core.queue import enqueue_on_commit
from core.tasks import email_notifications_task

SHOWN = 100
MESSAGE_MAX = 500
UNREAD_TTL = 600  # seconds; a count is also dropped on every notify and read


@dataclass(frozen=True)
class Alert:
    """One notification to one user, for ``notify_each`` (when every recipient gets another message)."""

    user_id: int
    message: str
    url: str = ""


def notify(
    *, user_ids: Iterable[int], kind: str, message: str, url: str = "", now: datetime | None = None
) -> int:
    """Tell each user the same thing: one bulk insert. Returns how many notifications were written."""
    return notify_each(
        kind=kind,
        alerts=[Alert(user_id=uid, message=message, url=url) for uid in dict.fromkeys(user_ids)],
        now=now,
    )


def notify_each(*, kind: str, alerts: Sequence[Alert], now: datetime | None = None) -> int:
    """Write one notification per alert, set-based (one insert per 2,000), and queue the e-mails on commit.

    Call inside the use-case's transaction: the notifications commit with the change they announce.
    """
    if not alerts:
        return 0
    at = now or timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(
                user_id=a.user_id, kind=kind, message=a.message[:MESSAGE_MAX], url=a.url, created_at=at
            )
            for a in alerts
            if a.user_id is not None
        ],
        batch_size=2000,
    )
    forget_unread_counts(user_ids={row.user_id for row in rows})
    ids = [row.pk for row in rows if row.pk is not None]
    if ids:
        enqueue_on_commit(email_notifications_task, notification_ids=ids)
    return len(rows)


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def forget_unread_counts(*, user_ids: Iterable[int]) -> None:
    """Drop the cached unread counts of these users: one cache call now and one after commit.

    TRICKY: dropped now, so this transaction's own later reads count its new rows; and again after commit,
    because another request may have counted (without them) and cached in between. A count that is not
    cached costs its next read one COUNT on the partial index.
    """
    keys = [_unread_key(user_id) for user_id in dict.fromkeys(user_ids)]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def unread_count(user_id: int) -> int:
    """The user's unread notifications: from the cache, else one COUNT on the partial index."""
    key = _unread_key(user_id)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(user_id=user_id, read_at=None).count()
        cache.set(key, count, UNREAD_TTL)
    return int(count)


def forget_unread_count(user_id: int) -> None:
    cache.delete(_unread_key(user_id))


def notifications_for(user: Any) -> QuerySet[Notification]:
    """The user's latest notifications, unread first."""
    return Notification.objects.filter(user=user).order_by("read_at", "-created_at", "-id")[:SHOWN]


def mark_read(*, user: Any, ids: Sequence[int] | None = None) -> int:
    """Mark the user's notifications read: those of ``ids`` (others' ids are ignored), or all of them."""
    unread = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    marked = unread.update(read_at=timezone.now())
    if marked:
        forget_unread_count(user.pk)
    return marked


def mark_all_read(*, user: Any) -> int:
    marked = mark_read(user=user)
    cache.set(_unread_key(user.pk), 0, UNREAD_TTL)
    return marked
