"""One trigram index for the lead search instead of four (PostgreSQL only).

The search now reads one expression, the four searched columns joined by chr(31) (``leads.filters.SearchText``),
and Django writes ``icontains`` on it as ``UPPER((… || CHR(31) || …)::text) LIKE UPPER('%term%')``. One GIN
index on exactly that expression answers it. Every write of a lead that is not a HOT update adds an entry to
each index of the table; one GIN index in place of four makes those writes (hand-off, ingestion) cheaper.
SQLite has no such index and keeps the plain scan; this migration does nothing there.
"""

from __future__ import annotations

from django.db import migrations

OLD_COLUMNS = ("email", "first_name", "last_name", "company")
INDEX = "lead_search_trgm_idx"


def _expression(schema_editor) -> str:
    joined = " || chr(31) || ".join(schema_editor.quote_name(column) for column in OLD_COLUMNS)
    return f"upper(({joined})::text)"


def one_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("leads", "Lead")._meta.db_table)
    # CONCURRENTLY: building the index on a live table of a million leads must not block ingestion.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {table} "
        f"USING gin ({_expression(schema_editor)} gin_trgm_ops)"
    )
    for column in OLD_COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS lead_{column}_trgm_idx")


def per_column_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("leads", "Lead")._meta.db_table)
    for column in OLD_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_{column}_trgm_idx ON {table} "
            f"USING gin (upper(({schema_editor.quote_name(column)})::text) gin_trgm_ops)"
        )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("leads", "0016_lead_sweep_indexes")]

    operations = [migrations.RunPython(one_index, per_column_indexes)]
