"""The promotion path's hand-written SQL: hand-offs for a whole batch of new MQLs in one statement.

Statement text, the one PostgreSQL/SQLite switch and table names from ``_meta`` live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from funnel.models import Handoff, HandoffStatus
from leads.pipeline_sql import array_literal


def relax_commit() -> None:
    """TRICKY: a promotion batch need not wait for its WAL flush. If the server crashed right after the
    commit, the whole batch would be lost atomically (leads still in Inquiry, rotation as before) and the
    periodic sweep would promote the same leads again; nothing else depends on it. Call in the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def open_handoffs(
    *, lead_ids: Sequence[int], rep_ids: Sequence[int | None], at: datetime, due: datetime
) -> None:
    """One open hand-off per lead (rep None: the unassigned queue), all due at ``due``."""
    if connection.vendor != "postgresql":
        Handoff.objects.bulk_create(
            [
                Handoff(lead_id=lead_id, rep_id=rep_id, assigned_at=at, sla_due_at=due)
                for lead_id, rep_id in zip(lead_ids, rep_ids, strict=True)
            ],
            batch_size=2000,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Handoff._meta.db_table} "
            "(lead_id, rep_id, assigned_at, sla_due_at, status, late, note) "
            "SELECT v.lead_id, v.rep_id, %s, %s, %s, false, '' "
            "FROM unnest(%s::bigint[], %s::int[]) AS v(lead_id, rep_id)",
            [at, due, HandoffStatus.OPEN, array_literal(lead_ids), array_literal(rep_ids)],
        )
