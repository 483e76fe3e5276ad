"""In-app notifications: what a user was alerted to (an SLA breach, say), and marking them read."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.models import Notification

SHOWN = 100


def notifications_for(user: Any) -> QuerySet[Notification]:
    """The user's latest notifications, unread first."""
    return Notification.objects.filter(user=user).order_by("read_at", "-created_at", "-id")[:SHOWN]


def mark_all_read(*, user: Any) -> int:
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())
