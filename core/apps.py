from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts, tokens and API plumbing"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_save, pre_delete

        from core import (  # noqa: F401 - wording, OpenAPI extensions and tasks queued by name register
            audit_words,
            cache,
            queue,
            receivers,
            schema,
            tasks,
        )

        request_started.connect(queue.defer_until_response, dispatch_uid="core.defer_until_response")
        request_started.connect(cache.begin_request, dispatch_uid="core.cache_begin_request")
        request_finished.connect(cache.end_request, dispatch_uid="core.cache_end_request")
        request_finished.connect(queue.send_after_response, dispatch_uid="core.send_after_response")

        user_logged_in.connect(receivers.warm_unread_count, dispatch_uid="core.warm_unread_count")
        user_model = get_user_model()
        post_save.connect(receivers.user_saved, sender=user_model, dispatch_uid="core.user_saved")
        pre_delete.connect(receivers.user_saved, sender=user_model, dispatch_uid="core.user_deleted")
