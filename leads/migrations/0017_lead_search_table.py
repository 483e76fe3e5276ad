"""The lead search reads a side table, ``lead_search``, instead of four trigram indexes on the leads (PostgreSQL
only).

The four GIN indexes of 0015 made up most of the cost of inserting a lead, and since they index columns of
``leads_lead`` every UPDATE of a lead (a hand-off, a rescore) was a non-HOT update that wrote some 80
trigram entries again. ``lead_search`` holds one row per lead: its id and the four searched columns joined
in one upper-cased text (``lead_search_text``, the one place that says how), under one GIN trigram index.
Triggers keep it in step: a statement trigger for inserts (batch ingestion inserts a thousand leads per
statement, so one INSERT … SELECT from the transition table), a row trigger for updates that only fires when
a searched column changed (a hand-off or a rescore does not reach it), statement triggers for deletes and
TRUNCATE. No foreign key: the triggers keep the rows in step, and a foreign key would break the TRUNCATE of
``leads_lead`` that Django's test flush issues. SQLite keeps its plain scan; the migration does nothing there.
"""

from __future__ import annotations

import importlib

from django.db import migrations, transaction

# The index 0015 created on each searched column: recreated when this migration is reversed.
_previous = importlib.import_module("leads.migrations.0015_lead_search_trigram_indexes")

TABLE = "lead_search"
INDEX = "lead_search_trgm_idx"
SEARCHED_COLUMNS = ("email", "first_name", "last_name", "company")
# chr(31), the unit separator, joins the fields: every text input refuses control characters
# (core/text.py), so a term never matches across two fields.
TEXT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION lead_search_text(email text, first_name text, last_name text, company text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT upper(email || chr(31) || first_name || chr(31) || last_name || chr(31) || company) $$;
"""
TRIGGERS = ("insert", "update", "delete", "truncate")


def _statements(lead_table: str, lead_id: str, columns: list[str]) -> list[str]:
    text_of = ", ".join
    new_columns = text_of(f"NEW.{c}" for c in columns)
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    upsert = "ON CONFLICT (lead_id) DO UPDATE SET text = EXCLUDED.text"
    return [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (lead_id bigint PRIMARY KEY, text text NOT NULL)",
        TEXT_FUNCTION,
        f"""
        CREATE OR REPLACE FUNCTION lead_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {TABLE} (lead_id, text)
            SELECT {lead_id}, lead_search_text({text_of(columns)}) FROM new_rows
            {upsert};
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION lead_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {TABLE} (lead_id, text) VALUES (NEW.{lead_id}, lead_search_text({new_columns}))
            {upsert};
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION lead_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {TABLE} WHERE lead_id IN (SELECT {lead_id} FROM old_rows);
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION lead_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE {TABLE};
            RETURN NULL;
        END $$
        """,
        *(f"DROP TRIGGER IF EXISTS lead_search_{event} ON {lead_table}" for event in TRIGGERS),
        f"""
        CREATE TRIGGER lead_search_insert AFTER INSERT ON {lead_table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lead_search_insert()
        """,
        # TRICKY: a row trigger, not a statement trigger with transition tables: with the column list and
        # the WHEN clause an UPDATE that changes none of the four (a hand-off, a rescore) costs nothing,
        # whereas transition tables would copy every updated row.
        f"""
        CREATE TRIGGER lead_search_update AFTER UPDATE OF {text_of(columns)} ON {lead_table}
        FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION lead_search_update()
        """,
        f"""
        CREATE TRIGGER lead_search_delete AFTER DELETE ON {lead_table}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lead_search_delete()
        """,
        f"""
        CREATE TRIGGER lead_search_truncate AFTER TRUNCATE ON {lead_table}
        FOR EACH STATEMENT EXECUTE FUNCTION lead_search_truncate()
        """,
        f"""
        INSERT INTO {TABLE} (lead_id, text)
        SELECT {lead_id}, lead_search_text({text_of(columns)}) FROM {lead_table}
        {upsert}
        """,
    ]


def create_search_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    lead = apps.get_model("leads", "Lead")._meta
    quote = schema_editor.quote_name
    statements = _statements(
        quote(lead.db_table),
        quote(lead.pk.column),
        [quote(lead.get_field(name).column) for name in SEARCHED_COLUMNS],
    )
    # One transaction from the triggers to the backfill: CREATE TRIGGER locks out writes to the leads until
    # the commit, so no lead changes between the backfill's snapshot and the triggers taking over.
    with transaction.atomic(using=schema_editor.connection.alias):
        for statement in statements:
            schema_editor.execute(statement)
    # CONCURRENTLY: neither building the new index nor dropping the old ones blocks ingestion.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} USING gin (text gin_trgm_ops)"
    )
    _previous.drop_indexes(apps, schema_editor)


def drop_search_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _previous.create_indexes(apps, schema_editor)
    lead_table = schema_editor.quote_name(apps.get_model("leads", "Lead")._meta.db_table)
    with transaction.atomic(using=schema_editor.connection.alias):
        for event in TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS lead_search_{event} ON {lead_table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS lead_search_{event}()")
        schema_editor.execute("DROP FUNCTION IF EXISTS lead_search_text(text, text, text, text)")
        schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("leads", "0016_lead_sweep_indexes")]

    operations = [migrations.RunPython(create_search_table, drop_search_table)]
