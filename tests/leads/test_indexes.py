"""The indexes of the tables every ingested lead writes: what an insert pays for."""

from __future__ import annotations

import pytest
from django.db import connection

from leads.models import Lead, Transition
from tests.conftest import needs_postgres

pytestmark = pytest.mark.django_db


def indexes_on(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def foreign_keys_of(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
            [table],
        )
        return {column for (column,) in cursor.fetchall()}


@needs_postgres
def test_a_leads_nullable_foreign_keys_are_indexed_only_where_set_and_keep_their_constraints():
    table = Lead._meta.db_table
    indexes = indexes_on(table)
    for column in ("persona_id", "campaign_id", "owner_id"):
        on_column = {
            name: sql
            for name, sql in indexes.items()
            if sql.endswith(f"({column})") or f"({column}) WHERE" in sql
        }
        assert list(on_column) == [f"lead_{column.removesuffix('_id')}_idx"], on_column
        assert on_column[f"lead_{column.removesuffix('_id')}_idx"].endswith(f"WHERE ({column} IS NOT NULL)")
    assert {"persona_id", "campaign_id", "owner_id"} <= foreign_keys_of(table)


@needs_postgres
def test_a_transitions_foreign_keys_are_indexed_by_composites_or_where_set_and_keep_their_constraints():
    table = Transition._meta.db_table
    indexed = {
        sql.split(" USING btree ", 1)[1]
        for name, sql in indexes_on(table).items()
        if not name.endswith("_pkey")
    }
    assert indexed == {
        "(lead_id, at DESC)",
        "(to_stage_id, at)",
        "(at)",
        "(from_stage_id) WHERE (from_stage_id IS NOT NULL)",
        "(actor_id) WHERE (actor_id IS NOT NULL)",
        "(reject_reason_id) WHERE (reject_reason_id IS NOT NULL)",
        "(lost_reason_id) WHERE (lost_reason_id IS NOT NULL)",
    }
    assert foreign_keys_of(table) == {
        "lead_id",
        "from_stage_id",
        "to_stage_id",
        "actor_id",
        "reject_reason_id",
        "lost_reason_id",
    }
