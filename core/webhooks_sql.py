"""The outbox's hand-written SQL (PostgreSQL): a whole set of events and their deliveries in one statement.

The caller gives a SELECT of one ``jsonb`` column, the events' data, built in SQL from its own tables with the
expressions below, so that the payloads are the same as those ``core.webhooks.emit_many`` writes from Python
(tests hold the two to the same answers). On SQLite ``set_based()`` is False and callers use ``emit_many``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from core.models import DeliveryStatus, WebhookDelivery, WebhookEvent


def set_based() -> bool:
    """Whether events can be written by ``insert_events`` (PostgreSQL), else through Python."""
    return connection.vendor == "postgresql"


def django_json_datetime(column: str) -> str:
    """A timestamp as ``DjangoJSONEncoder`` writes it: ISO 8601 in UTC with ``Z``, milliseconds if any."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN mod(date_part('microseconds', {column})::bigint, 1000000) = 0 "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END"""
    )


def isoformat_datetime(column: str) -> str:
    """A timestamp as ``datetime.isoformat()`` writes an aware UTC one: ``+00:00``, microseconds if any."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN mod(date_part('microseconds', {column})::bigint, 1000000) = 0 "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END"""
    )


def insert_events(
    *,
    event: str,
    occurred_at: datetime,
    endpoint_ids: Sequence[int],
    created_at: datetime,
    give_up_at: datetime,
    data_sql: str,
    params: Sequence[Any],
) -> list[int]:
    """One outbox event per row of ``data_sql`` (in its order) and one pending delivery per event and
    endpoint, in one statement. Returns the deliveries' ids. Call inside the transaction of the change."""
    events, deliveries = WebhookEvent._meta.db_table, WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH written AS (INSERT INTO {events} (uid, event, occurred_at, data) "
            f"SELECT gen_random_uuid(), %s, %s, d.data FROM ({data_sql}) AS d(data) RETURNING id), "
            f"queued AS (INSERT INTO {deliveries} "
            "(endpoint_id, event_id, status, attempts, created_at, next_attempt_at, give_up_at) "
            "SELECT e.id, w.id, %s, 0, %s, %s, %s "
            "FROM written w CROSS JOIN unnest(%s::bigint[]) AS e(id) ORDER BY w.id, e.id RETURNING id) "
            "SELECT id FROM queued ORDER BY id",
            [
                event,
                occurred_at,
                *params,
                DeliveryStatus.PENDING,
                created_at,
                created_at,
                give_up_at,
                list(endpoint_ids),
            ],
        )
        return [pk for (pk,) in cursor.fetchall()]
