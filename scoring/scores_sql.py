"""Writing a chunk of freshly computed scores back to the leads: one statement on PostgreSQL.

Django's ``bulk_update`` builds a ``CASE WHEN id = … THEN …`` expression per field and lead; for 1,000 leads
and seven fields that costs seconds of Python per chunk, which made incremental scoring slower than
ingestion under load. ``UPDATE … FROM (VALUES …)`` sends the same rows as plain parameters. SQLite (the
bare-machine setup) keeps ``bulk_update``: this is the one PostgreSQL/SQLite switch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection

from leads.models import Lead

SCORE_FIELDS = [
    "score",
    "fit_score",
    "engagement_score",
    "grade",
    "score_breakdown",
    "scored_at",
    "scoring_version",
]
# One placeholder per field of a row, with its type: VALUES rows carry no types of their own.
_ROW = "(%s::bigint, %s::int, %s::int, %s::int, %s::varchar, %s::jsonb, %s::timestamptz, %s::int)"


def write_scores(*, leads: Sequence[Lead]) -> None:
    """Write ``SCORE_FIELDS`` of these (unsaved, primary-keyed) leads. Call inside a transaction."""
    if not leads:
        return
    if connection.vendor != "postgresql":
        Lead.objects.bulk_update(leads, fields=SCORE_FIELDS, batch_size=500)
        return
    table = connection.ops.quote_name(Lead._meta.db_table)
    columns = [connection.ops.quote_name(Lead._meta.get_field(name).column) for name in SCORE_FIELDS]
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    pk = connection.ops.quote_name(Lead._meta.pk.column)
    params: list[object] = []
    for lead in leads:
        params += [
            lead.pk,
            lead.score,
            lead.fit_score,
            lead.engagement_score,
            lead.grade,
            json.dumps(lead.score_breakdown),
            lead.scored_at,
            lead.scoring_version,
        ]
    sql = (
        f"UPDATE {table} AS l SET {assignments} "
        f"FROM (VALUES {', '.join([_ROW] * len(leads))}) AS v({pk}, {', '.join(columns)}) "
        f"WHERE l.{pk} = v.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
