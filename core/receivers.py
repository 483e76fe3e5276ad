"""Core's answers to Django's own signals: alert counts warmed at login, and a deactivated user's tokens
forgotten at once."""

from __future__ import annotations

from typing import Any

from core.notifications import unread_count
from core.tokens import forget_cached_tokens


def warm_unread_count(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Count a user's unread alerts once at login, so the pages that follow read the count from the cache."""
    unread_count(user.pk)


def user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_save``/``pre_delete`` of the user model: the cached tokens would outlive the change."""
    if instance.pk is not None:
        forget_cached_tokens(user_id=instance.pk)
