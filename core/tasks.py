from __future__ import annotations

from celery import shared_task

from core.idempotency import purge_expired_keys


@shared_task
def purge_idempotency_keys_task() -> int:
    return purge_expired_keys()
