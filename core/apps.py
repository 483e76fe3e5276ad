from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts, tokens and API plumbing"

    def ready(self) -> None:
        from core import (
            schema,  # noqa: F401 - registers the OpenAPI extensions
            tasks,  # noqa: F401 - registers the tasks core queues by name (webhook delivery)
        )
