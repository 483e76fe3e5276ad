"""Delivering the outbox: claim a delivery row, POST it signed, log the attempt, back off or finish.

At least once: a row is claimed with a conditional UPDATE (two workers never send it at the same moment),
and a row left ``in_progress`` by a worker that died is claimed again once its claim is older than
``CLAIM_TIMEOUT``. Failed attempts wait 1, 2, 4, 8 … minutes (at most 4 hours) until 24 hours after the
event, then the delivery is marked failed. The beat sweep (every minute) sends what is due.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import record
from core.errors import Conflict
from core.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from core.webhook_http import post
from core.webhooks import RETRY_WINDOW, queue_deliveries

# Longer than any POST can take (connect and read time out after 10 seconds each).
CLAIM_TIMEOUT = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=4)
SWEEP_BATCH = 200
S = DeliveryStatus


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body receivers get: ``{"id", "event", "occurred_at", "data"}``."""
    event = delivery.event
    payload = {
        "id": str(event.uid),
        "event": event.event,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def _claimable(now: datetime) -> Q:
    return Q(status=S.PENDING, next_attempt_at__lte=now) | Q(
        status=S.IN_PROGRESS, claimed_at__lte=now - CLAIM_TIMEOUT
    )


def deliver(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Send one delivery if it is due (or abandoned by a dead worker); returns its new status, or None
    when there was nothing to do (sent already, not due, or another worker has it)."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(_claimable(now), pk=delivery_id).update(
        status=S.IN_PROGRESS, claimed_at=now
    )
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if delivery.endpoint.active:
        answer = post(
            url=delivery.endpoint.url,
            body=body_of(delivery),
            secret=delivery.endpoint.secret,
            timestamp=int(now.timestamp()),
        )
        code, error, duration = answer.status_code, answer.error, answer.duration_ms
        ok = answer.ok
        if code is not None and not ok and not error:
            error = f"The receiver answered {code}."
    else:
        code, error, duration, ok = None, "The endpoint is inactive.", 0, False
    attempts = delivery.attempts + 1
    if ok:
        status, next_at = S.SUCCEEDED, None
    elif now >= delivery.give_up_at or not delivery.endpoint.active:
        status, next_at = S.FAILED, None
    else:
        status, next_at = S.PENDING, min(now + backoff(attempts), delivery.give_up_at)
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery, at=now, status_code=code, error=error, duration_ms=duration
        )
        WebhookDelivery.objects.filter(pk=delivery.pk, status=S.IN_PROGRESS, claimed_at=now).update(
            status=status,
            attempts=attempts,
            next_attempt_at=next_at,
            claimed_at=None,
            last_attempt_at=now,
            last_status_code=code,
        )
    return status


def deliver_many(*, delivery_ids: Sequence[int], now: datetime | None = None) -> dict[int, str | None]:
    return {delivery_id: deliver(delivery_id=delivery_id, now=now) for delivery_id in delivery_ids}


def sweep_deliveries(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Send the deliveries that are due: retries whose wait is over, rows whose message was lost, and rows
    a killed worker left ``in_progress``. Returns the ids it looked at, oldest due first."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(_claimable(now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    deliver_many(delivery_ids=ids, now=now)
    return ids


def redeliver(*, delivery: WebhookDelivery, actor: Any) -> WebhookDelivery:
    """Send a delivery again (whatever its status) with a fresh 24-hour retry window; 409 while sending."""
    now = timezone.now()
    with transaction.atomic():
        changed = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(status=S.IN_PROGRESS)
            .update(status=S.PENDING, next_attempt_at=now, give_up_at=now + RETRY_WINDOW, claimed_at=None)
        )
        if changed != 1:
            raise Conflict("This delivery is being sent right now.")
        record(actor=actor, action="webhook.redelivered", obj=delivery, data={"event": delivery.event_id})
        queue_deliveries(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery
