from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from core import notification_emails
from core.idempotency import purge_expired_keys
from core.maintenance_sql import analyze_busy_tables
from core.webhook_delivery import deliver_many, sweep_deliveries

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task
def purge_idempotency_keys_task() -> int:
    return purge_expired_keys()


@shared_task(**RETRY)
def email_notifications_task(notification_ids: list[int]) -> int:
    """E-mail these notifications to the users who want e-mail at once."""
    return notification_emails.email_notifications(notification_ids=notification_ids)


@shared_task(**RETRY)
def send_notification_digests_task() -> int:
    """The daily digest for users who chose it."""
    return notification_emails.send_daily_digests()


# Deliveries retry on their own schedule (stored in the row); the task never retries itself.
@shared_task(soft_time_limit=300, time_limit=330)
def deliver_webhooks_task(delivery_ids: list[int]) -> int:
    results = deliver_many(delivery_ids=delivery_ids)
    return sum(1 for status in results.values() if status is not None)


@shared_task(soft_time_limit=300, time_limit=330)
def sweep_webhook_deliveries_task() -> int:
    return len(sweep_deliveries())


@shared_task(soft_time_limit=300, time_limit=330)
def analyze_busy_tables_task() -> list[str]:
    """After floods of writes (API batches, imports), refresh the planner's statistics of those tables."""
    return analyze_busy_tables()
