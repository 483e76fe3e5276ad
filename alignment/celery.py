"""The Celery application; tasks are queued through ``core.queue``."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")

app = Celery("alignment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def load_urlconf(**kwargs: Any) -> None:
    """Tasks write links (``reverse``): import the URLconf, and every view with it, as a worker process
    starts rather than in its first task (a second of imports in front of the first hand-off)."""
    get_resolver().url_patterns  # noqa: B018
