"""The hand-off alerts' hand-written SQL: one notification per rep for a whole batch of new hand-offs.

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
    one: tuple[str, str],
    many: str,
    url: tuple[str, str],
    many_url: str,
    at: datetime,
) -> list[Written]:
    """Tell each owner of these leads about them, one notification per owner.

    An owner of one lead reads ``one[0] + label + one[1]`` linking to ``url[0] + id + url[1]``; an owner of
    several reads ``count + many`` linking to ``many_url``. One INSERT … SELECT grouped by owner (a lead with
    no owner tells nobody). Returns, per owner, the id written. Call inside the transaction that set the
    owners.
    """
    if not lead_ids:
        return []
    table, lead_table = Notification._meta.db_table, Lead._meta.db_table
    one_message = f"substr(%s || {LABEL} || %s, 1, {MESSAGE_MAX})"
    columns = (
        f"INSERT INTO {table} (user_id, kind, created_at, message, url, read_at, emailed_at) "
        f"SELECT g.owner_id, %s, %s, CASE WHEN g.n = 1 THEN {one_message} ELSE CAST(g.n AS text) || %s END, "
        "CASE WHEN g.n = 1 THEN %s || CAST(l.id AS text) || %s ELSE %s END, NULL, NULL "
        f"FROM (SELECT owner_id, count(*) AS n, min(id) AS first_id FROM {lead_table} "
        "WHERE {ids} AND owner_id IS NOT NULL GROUP BY owner_id) g "
        f"JOIN {lead_table} l ON l.id = g.first_id ORDER BY g.owner_id "
    )
    values = [kind, connection.ops.adapt_datetimefield_value(at), one[0], one[1], many, *url, many_url]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statement = columns.replace("{ids}", "id = ANY(%s::bigint[])")
            cursor.execute(
                f"WITH written AS ({statement}RETURNING id, user_id) SELECT user_id, id FROM written",
                [*values, array_literal(lead_ids)],
            )
        else:  # SQLite: no INSERT inside a WITH; RETURNING alone.
            statement = columns.replace("{ids}", f"id IN ({', '.join(['%s'] * len(lead_ids))})")
            cursor.execute(f"{statement}RETURNING user_id, id", [*values, *lead_ids])
        rows = sorted(cursor.fetchall())
    return [Written(user_id=u, first_id=pk, last_id=pk, count=1) for u, pk in rows]
