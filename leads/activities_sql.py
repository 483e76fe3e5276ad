"""The statements of activity ingestion: insert activities, and upsert those with an ``external_id``.

Table and columns come from ``Activity._meta``. Rows are dicts with ``lead_id``, ``type``, ``occurred_at``,
``external_id`` and ``metadata``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Field

from core.upsert_sql import UniqueKey, on_conflict_update, upsert_returning
from leads.models import Activity

_TABLE = Activity._meta.db_table
_COLUMNS = tuple(
    cast(Field, Activity._meta.get_field(name)).column
    for name in ("lead", "type", "occurred_at", "external_id", "metadata", "created_at")
)
_EXTERNAL_ID = Activity._meta.get_field("external_id").column
# The partial unique index ``activity_external_id_unique``.
_BY_EXTERNAL_ID = UniqueKey(
    table=_TABLE, column=_EXTERNAL_ID, expression=_EXTERNAL_ID, where=f"NOT ({_EXTERNAL_ID} = '')"
)
# A copy sent again overwrites these. The recorded time moves with it, so the scoring sweep sees that its
# lead needs a new score.
_UPDATED_BY_A_COPY = tuple(
    cast(Field, Activity._meta.get_field(name)).column
    for name in ("type", "occurred_at", "metadata", "created_at")
)


def _values(rows: Sequence[dict[str, Any]], now: datetime) -> tuple[str, list[Any]]:
    placeholder = (
        "(%s, %s, %s, %s, %s::jsonb, %s)" if connection.vendor == "postgresql" else "(%s, %s, %s, %s, %s, %s)"
    )
    adapt = connection.ops.adapt_datetimefield_value
    stored_at = adapt(now)
    params: list[Any] = []
    for row in rows:
        params += [
            row["lead_id"],
            row["type"],
            adapt(row["occurred_at"]),
            row["external_id"],
            json.dumps(row["metadata"]),
            stored_at,
        ]
    return ", ".join([placeholder] * len(rows)), params


def insert_activities(*, rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """Insert activities without an ``external_id``; returns their ids in the order of ``rows``."""
    if not rows:
        return []
    values, params = _values(rows, now)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES {values} RETURNING id", params)
        # Rows come back in the order given, as Django's bulk_create also relies on.
        return [row[0] for row in cursor.fetchall()]


def upsert_activities(*, rows: Sequence[dict[str, Any]], now: datetime) -> dict[str, tuple[int, bool]]:
    """Store activities by ``external_id`` (each row has one; none twice): a stored one is overwritten.

    Returns ``{external_id: (id, created)}``. Call inside a transaction.
    """
    if not rows:
        return {}
    # A fixed order keeps concurrent batches deadlock-free.
    rows = sorted(rows, key=lambda r: r["external_id"])
    values, params = _values(rows, now)
    statement = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES {values}" + on_conflict_update(
        _BY_EXTERNAL_ID, _UPDATED_BY_A_COPY
    )
    keys = (row["external_id"] for row in rows)
    return upsert_returning(key=_BY_EXTERNAL_ID, statement=statement, params=params, keys=keys)
