"""Trigram indexes for the lead search (PostgreSQL only).

The lead list's search is ``icontains`` on four columns, which Django writes on PostgreSQL as
``UPPER("col"::text) LIKE UPPER('%term%')``. A GIN trigram index on exactly that expression answers it for a
rare term among a million leads without reading the table, so the ORM query stays as it is. SQLite has no
such index and keeps the plain scan; its migration does nothing here.
"""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

SEARCHED_COLUMNS = ("email", "first_name", "last_name", "company")


def _index_name(column: str) -> str:
    return f"lead_{column}_trgm_idx"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("leads", "Lead")._meta.db_table)
    for column in SEARCHED_COLUMNS:
        # CONCURRENTLY: building the index on a live table of a million leads must not block ingestion.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_index_name(column)} ON {table} "
            f"USING gin (upper(({schema_editor.quote_name(column)})::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED_COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_index_name(column)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("leads", "0014_lost_reasons")]

    operations = [
        TrigramExtension(),  # a no-op on databases other than PostgreSQL
        migrations.RunPython(create_indexes, drop_indexes),
    ]
