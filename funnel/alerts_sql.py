"""The hand-off alerts' hand-written SQL: one notification per new hand-off, a whole batch per statement.

Statement text, the one PostgreSQL/SQLite switch and table names from ``_meta`` live here; ``funnel.alerts``
calls it and reads like the business rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from core.models import Notification
from core.notifications import MESSAGE_MAX, Written
from leads.models import Lead
from leads.pipeline_sql import array_literal

# TRICKY: the SQL twin of ``Lead.label`` ("Jane Doe (Acme)", or the e-mail when the lead has no name).
# tests/funnel/test_handoff_alerts.py holds the two to the same answers.
_WHO = (
    "CASE WHEN l.first_name <> '' AND l.last_name <> '' THEN l.first_name || ' ' || l.last_name "
    "WHEN l.first_name <> '' THEN l.first_name WHEN l.last_name <> '' THEN l.last_name ELSE l.email END"
)
LABEL = f"CASE WHEN l.company <> '' THEN ({_WHO}) || ' (' || l.company || ')' ELSE ({_WHO}) END"


def insert_owner_notifications(
    *,
    lead_ids: Sequence[int],
    kind: str,
    message: tuple[str, str],
    url: tuple[str, str],
    at: datetime,
) -> list[Written]:
    """Tell each lead's owner about it: ``message[0] + label + message[1]``, ``url[0] + id + url[1]``.

    One INSERT … SELECT from the leads (a lead with no owner tells nobody), in lead order. Returns, per
    owner, the ids written. Call inside the transaction that set the owners.
    """
    if not lead_ids:
        return []
    table, lead_table = Notification._meta.db_table, Lead._meta.db_table
    columns = (
        f"INSERT INTO {table} (user_id, kind, created_at, message, url, read_at, emailed_at) "
        f"SELECT l.owner_id, %s, %s, substr(%s || {LABEL} || %s, 1, {MESSAGE_MAX}), "
        "%s || CAST(l.id AS text) || %s, NULL, NULL "
        f"FROM {lead_table} l "
    )
    values = [kind, connection.ops.adapt_datetimefield_value(at), message[0], message[1], url[0], url[1]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH written AS ({columns}WHERE l.id = ANY(%s::bigint[]) AND l.owner_id IS NOT NULL "
                "ORDER BY l.id RETURNING id, user_id) "
                "SELECT user_id, min(id), max(id), count(*) FROM written GROUP BY user_id ORDER BY user_id",
                [*values, array_literal(lead_ids)],
            )
            return [
                Written(user_id=u, first_id=lo, last_id=hi, count=n) for u, lo, hi, n in cursor.fetchall()
            ]
        # SQLite: no INSERT inside a WITH; RETURNING alone, folded per user here (an in-process database).
        marks = ", ".join(["%s"] * len(lead_ids))
        cursor.execute(
            f"{columns}WHERE l.id IN ({marks}) AND l.owner_id IS NOT NULL "
            "ORDER BY l.id RETURNING id, user_id",
            [*values, *lead_ids],
        )
        per_user: dict[int, list[int]] = {}
        for pk, user_id in cursor.fetchall():
            per_user.setdefault(user_id, []).append(pk)
    return [
        Written(user_id=u, first_id=min(ids), last_id=max(ids), count=len(ids))
        for u, ids in sorted(per_user.items())
    ]
