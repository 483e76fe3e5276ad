"""Core's answers to Django's own signals."""

from __future__ import annotations

from typing import Any

from core.notifications import unread_count


def warm_unread_count(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Count a user's unread alerts once at login, so the pages that follow read the count from the cache."""
    unread_count(user.pk)
