"""The Celery wiring, end to end: a real worker consuming from Redis runs a task queued on commit."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.signals import worker_process_init
from django.conf import settings
from django.db import transaction
from django.urls import get_resolver
from django.utils import timezone

from alignment.celery import load_urlconf
from core.models import IdempotencyKey
from core.queue import enqueue_on_commit
from core.tasks import purge_idempotency_keys_task
from tests.conftest import needs_redis


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_task_queued_on_commit_runs_in_a_real_worker():
    from celery.contrib.testing.worker import start_worker

    from alignment.celery import app

    IdempotencyKey.objects.create(
        client="user:1", key="old", request_hash="x", created_at=timezone.now() - timedelta(days=2)
    )
    queues = [settings.CELERY_INTERACTIVE_QUEUE, settings.CELERY_BULK_QUEUE]
    # Tasks other tests queued (for rows long rolled back) are not this test's business.
    with app.connection_for_write() as conn:
        for queue in queues:
            conn.default_channel.queue_purge(queue)
    # The purge of idempotency keys is periodic work, so it travels on the bulk queue.
    with start_worker(app, perform_ping_check=False, shutdown_timeout=10, queues=queues):
        with transaction.atomic():
            enqueue_on_commit(purge_idempotency_keys_task)
            # Not before the commit: the worker must not see work whose data is not there yet.
            time.sleep(0.5)
            assert IdempotencyKey.objects.exists()
        deadline = time.monotonic() + 15
        while IdempotencyKey.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not IdempotencyKey.objects.exists()


def test_a_worker_process_imports_the_urlconf_as_it_starts(monkeypatch):
    connected = [ref() for _, ref in worker_process_init.receivers]
    assert load_urlconf in connected
    loaded = []
    monkeypatch.setattr("alignment.celery.get_resolver", lambda: loaded.append("urlconf") or get_resolver())
    load_urlconf()
    assert loaded == ["urlconf"]
