"""The Celery application; tasks are queued through ``core.queue``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")

app = Celery("alignment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
