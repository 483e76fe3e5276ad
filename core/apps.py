from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts, tokens and API plumbing"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core import (  # noqa: F401 - wording, OpenAPI extensions and tasks queued by name register
            audit_words,
            receivers,
            schema,
            tasks,
        )

        user_logged_in.connect(receivers.warm_unread_count, dispatch_uid="core.warm_unread_count")
