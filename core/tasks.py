from __future__ import annotations

from celery import shared_task

from core.idempotency import purge_expired_keys
from core.webhook_delivery import deliver_many, sweep_deliveries


@shared_task
def purge_idempotency_keys_task() -> int:
    return purge_expired_keys()


# Deliveries retry on their own schedule (stored in the row); the task never retries itself.
@shared_task(soft_time_limit=300, time_limit=330)
def deliver_webhooks_task(delivery_ids: list[int]) -> int:
    results = deliver_many(delivery_ids=delivery_ids)
    return sum(1 for status in results.values() if status is not None)


@shared_task(soft_time_limit=300, time_limit=330)
def sweep_webhook_deliveries_task() -> int:
    return len(sweep_deliveries())
