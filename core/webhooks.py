"""Webhook endpoints and the outbox: register receivers, and write events in the caller's transaction.

``emit_many`` writes one outbox row per event and one delivery row per subscribed endpoint, in bulk, in the
transaction of the change that caused them, and queues their delivery once that transaction commits
(``core.webhook_delivery`` sends them). Whether any active endpoint wants an event is cached, so code that
emits on a hot path (ingestion) pays nothing while nobody subscribes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.audit import record
from core.cache import forget_request_value, request_value, ride_along
from core.errors import ValidationProblem
from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookEventType
from core.queue import enqueue_on_commit
from core.webhook_http import RefusedAddress, check_url
from core.webhooks_sql import insert_events

EVENTS: tuple[str, ...] = tuple(WebhookEventType.values)
DELIVER_TASK = "core.tasks.deliver_webhooks_task"
# How long deliveries are retried (API.md: exponential backoff for 24 hours, then failed).
RETRY_WINDOW = timedelta(hours=24)
# Delivery ids per Celery message.
IDS_PER_MESSAGE = 100
_SUBSCRIBED_KEY = "webhooks:subscribed-events"
# TRICKY: endpoint changes drop the cached set at once (in Redis, for every process); without Redis each
# process has its own cache, so another process may go on skipping a newly subscribed event this long.
_SUBSCRIBED_SECONDS = 30
# Ingestion asks on every request: the set comes with the token's round trip (``core.cache``).
ride_along(_SUBSCRIBED_KEY)
URL_MAX_LENGTH = WebhookEndpoint._meta.get_field("url").max_length or 500


def subscribed_events() -> frozenset[str]:
    """The events at least one active endpoint wants (cached)."""
    fetched, cached = request_value(_SUBSCRIBED_KEY)
    if not fetched:
        cached = cache.get(_SUBSCRIBED_KEY)
    if cached is None:
        events: set[str] = set()
        for chosen in WebhookEndpoint.objects.filter(active=True).values_list("events", flat=True):
            events.update(chosen)
        cached = sorted(events)
        cache.set(_SUBSCRIBED_KEY, cached, _SUBSCRIBED_SECONDS)
    return frozenset(cached)


def subscribed(event: str) -> bool:
    return event in subscribed_events()


def _forget_subscriptions() -> None:
    forget_request_value(_SUBSCRIBED_KEY)
    cache.delete(_SUBSCRIBED_KEY)
    transaction.on_commit(lambda: cache.delete(_SUBSCRIBED_KEY))


def emit(*, event: str, data: dict[str, Any], occurred_at: datetime | None = None) -> int:
    return emit_many(event=event, items=[data], occurred_at=occurred_at)


def emit_many(*, event: str, items: Iterable[dict[str, Any]], occurred_at: datetime | None = None) -> int:
    """Write one outbox event per item for ``event`` and queue its delivery after commit.

    Set-based: one bulk insert of events and one of deliveries, whatever the number of items. Call inside
    the transaction of the change (the events commit, or roll back, with it). Returns the deliveries made.
    """
    endpoint_ids = _endpoints_for(event)
    items = list(items)
    if not endpoint_ids or not items:
        return 0
    now = timezone.now()
    at = occurred_at or now
    events = WebhookEvent.objects.bulk_create(
        [WebhookEvent(uid=uuid.uuid4(), event=event, occurred_at=at, data=data) for data in items],
        batch_size=1000,
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=stored.pk,
                created_at=now,
                next_attempt_at=now,
                give_up_at=now + RETRY_WINDOW,
            )
            for stored in events
            for endpoint_id in endpoint_ids
        ],
        batch_size=1000,
    )
    queue_deliveries(delivery_ids=[d.pk for d in deliveries])
    return len(deliveries)


def emit_selected(
    *, event: str, data_sql: str, params: Sequence[Any], occurred_at: datetime | None = None
) -> int:
    """``emit_many`` for a big set, on PostgreSQL (``core.webhooks_sql.set_based()``): one event per row of
    ``data_sql`` (a SELECT of one ``jsonb`` column, the event's data) and its deliveries, in one statement.

    Nothing is read or written while no active endpoint subscribes. Call inside the transaction of the
    change. Returns the deliveries made.
    """
    endpoint_ids = _endpoints_for(event)
    if not endpoint_ids:
        return 0
    now = timezone.now()
    delivery_ids = insert_events(
        event=event,
        occurred_at=occurred_at or now,
        endpoint_ids=endpoint_ids,
        created_at=now,
        give_up_at=now + RETRY_WINDOW,
        data_sql=data_sql,
        params=params,
    )
    queue_deliveries(delivery_ids=delivery_ids)
    return len(delivery_ids)


def _endpoints_for(event: str) -> list[int]:
    """The active endpoints that want ``event`` (no query while none does)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not subscribed(event):
        return []
    return [
        pk
        for pk, chosen in WebhookEndpoint.objects.filter(active=True).values_list("pk", "events")
        if event in chosen
    ]


def queue_deliveries(*, delivery_ids: Sequence[int]) -> None:
    """Queue the delivery of these rows once the current transaction commits (the sweep is the backstop)."""
    for start in range(0, len(delivery_ids), IDS_PER_MESSAGE):
        enqueue_on_commit(DELIVER_TASK, delivery_ids=list(delivery_ids[start : start + IDS_PER_MESSAGE]))


def _clean(*, url: str | None, events: Sequence[str] | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if url is not None:
        try:
            check_url(url)
        except RefusedAddress as exc:
            errors["url"] = [str(exc)]
    if events is not None:
        unknown = sorted(set(events) - set(EVENTS))
        if unknown:
            errors["events"] = [f"Unknown events: {', '.join(unknown)}. Choose from: {', '.join(EVENTS)}."]
        elif not events:
            errors["events"] = ["Choose at least one event."]
    return errors


def create_endpoint(
    *, actor: Any, url: str, events: Sequence[str], active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown once)."""
    errors = _clean(url=url, events=events)
    if errors:
        raise ValidationProblem(errors)
    secret = WebhookEndpoint.generate_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url,
            events=[e for e in EVENTS if e in events],
            active=active,
            secret=secret,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        record(
            actor=actor, action="webhook.created", obj=endpoint, data={"url": url, "events": endpoint.events}
        )
        _forget_subscriptions()
    return endpoint, secret


def update_endpoint(*, endpoint: WebhookEndpoint, actor: Any, fields: dict[str, Any]) -> WebhookEndpoint:
    """Change ``url``, ``events`` and/or ``active``."""
    errors = _clean(url=fields.get("url"), events=fields.get("events"))
    if errors:
        raise ValidationProblem(errors)
    changes = {name: fields[name] for name in ("url", "events", "active") if name in fields}
    if "events" in changes:
        changes["events"] = [e for e in EVENTS if e in changes["events"]]
    with transaction.atomic():
        for name, value in changes.items():
            setattr(endpoint, name, value)
        endpoint.save(update_fields=[*changes, "updated_at"])
        record(actor=actor, action="webhook.changed", obj=endpoint, data={"fields": sorted(changes)})
        _forget_subscriptions()
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    """Remove an endpoint and its delivery log."""
    with transaction.atomic():
        record(actor=actor, action="webhook.deleted", obj=endpoint, data={"url": endpoint.url})
        endpoint.delete()
        _forget_subscriptions()
