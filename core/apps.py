from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts, tokens and API plumbing"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_delete

        from core import schema  # noqa: F401 - registers the OpenAPI extensions
        from core.receivers import user_saved

        user_model = get_user_model()
        post_save.connect(user_saved, sender=user_model, dispatch_uid="core.user_saved")
        pre_delete.connect(user_saved, sender=user_model, dispatch_uid="core.user_deleted")
