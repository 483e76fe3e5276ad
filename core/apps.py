from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts, tokens and API plumbing"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save, pre_delete

        from core import (  # noqa: F401 - wording, OpenAPI extensions and tasks queued by name register
            audit_words,
            receivers,
            schema,
            tasks,
        )

        user_logged_in.connect(receivers.warm_unread_count, dispatch_uid="core.warm_unread_count")
        user_model = get_user_model()
        post_save.connect(receivers.user_saved, sender=user_model, dispatch_uid="core.user_saved")
        pre_delete.connect(receivers.user_saved, sender=user_model, dispatch_uid="core.user_deleted")
