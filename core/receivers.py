"""What core does when a user changes: a deactivated user's tokens stop working at once."""

from __future__ import annotations

from typing import Any

from core.tokens import forget_cached_tokens


def user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_save``/``post_delete`` of the user model: the cached tokens would outlive the change."""
    if instance.pk is not None:
        forget_cached_tokens(user_id=instance.pk)
