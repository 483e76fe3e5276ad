"""The lead search reads a table of its own, ``leads_lead_search``, kept up to date by triggers.

One row per lead: e-mail, first name, last name and company joined by chr(31) (``leads.models.LeadSearch``).
On PostgreSQL its GIN trigram index replaces ``lead_search_trgm_idx`` on ``leads_lead`` (migration 0017), so
a write of a lead that changes none of the four fields (a move, an assignment, a new score) adds no trigram
entry. The triggers, on both databases:

- after an INSERT (also an upsert's insert, a COPY): the new leads' rows, set-based on PostgreSQL;
- after an UPDATE that changes one of the four fields (also an upsert's update): that lead's row;
- after a DELETE: the deleted leads' rows; on PostgreSQL after a TRUNCATE (tests flush tables so): all rows.

TRICKY: the triggers are outside Django's migration state. On SQLite a later migration that rebuilds
``leads_lead`` (Django copies a table to alter it) drops them, and on PostgreSQL changing a searched column's
type needs them dropped first; such a migration must create them again (``create``). The tests in
``tests/leads/test_search_table.py`` fail if the search stops following the leads.
"""

from __future__ import annotations

from django.db import migrations, models

TABLE = "leads_lead_search"
OLD_INDEX = "lead_search_trgm_idx"
INDEX = "lead_search_text_trgm_idx"


def _text(row: str, separator: str) -> str:
    return f" || {separator} || ".join(
        f"{row}{column}" for column in ("email", "first_name", "last_name", "company")
    )


POSTGRESQL = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} (lead_id bigint PRIMARY KEY, text text NOT NULL)",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO {TABLE} (lead_id, text) SELECT id, {_text("", "chr(31)")} FROM inserted_leads
      ON CONFLICT (lead_id) DO UPDATE SET text = EXCLUDED.text;
      RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO {TABLE} (lead_id, text) VALUES (NEW.id, {_text("NEW.", "chr(31)")})
      ON CONFLICT (lead_id) DO UPDATE SET text = EXCLUDED.text;
      RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM {TABLE} AS s USING deleted_leads AS d WHERE s.lead_id = d.id;
      RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      TRUNCATE {TABLE};
      RETURN NULL;
    END $$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_inserted ON leads_lead",
    f"""CREATE TRIGGER {TABLE}_inserted AFTER INSERT ON leads_lead REFERENCING NEW TABLE AS inserted_leads
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_inserted()""",
    f"DROP TRIGGER IF EXISTS {TABLE}_updated ON leads_lead",
    # The WHEN clause runs in the executor for every updated row; the function only for a changed field.
    f"""CREATE TRIGGER {TABLE}_updated AFTER UPDATE OF email, first_name, last_name, company ON leads_lead
    FOR EACH ROW WHEN ((OLD.email, OLD.first_name, OLD.last_name, OLD.company)
                       IS DISTINCT FROM (NEW.email, NEW.first_name, NEW.last_name, NEW.company))
    EXECUTE FUNCTION {TABLE}_updated()""",
    f"DROP TRIGGER IF EXISTS {TABLE}_deleted ON leads_lead",
    f"""CREATE TRIGGER {TABLE}_deleted AFTER DELETE ON leads_lead REFERENCING OLD TABLE AS deleted_leads
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_deleted()""",
    f"DROP TRIGGER IF EXISTS {TABLE}_truncated ON leads_lead",
    f"CREATE TRIGGER {TABLE}_truncated AFTER TRUNCATE ON leads_lead FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_truncated()",
]

SQLITE = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} (lead_id integer NOT NULL PRIMARY KEY, text text NOT NULL)",
    f"DROP TRIGGER IF EXISTS {TABLE}_inserted",
    f"""CREATE TRIGGER {TABLE}_inserted AFTER INSERT ON leads_lead BEGIN
      INSERT INTO {TABLE} (lead_id, text) VALUES (NEW.id, {_text("NEW.", "char(31)")})
      ON CONFLICT (lead_id) DO UPDATE SET text = excluded.text;
    END""",
    f"DROP TRIGGER IF EXISTS {TABLE}_updated",
    f"""CREATE TRIGGER {TABLE}_updated AFTER UPDATE OF email, first_name, last_name, company ON leads_lead
    WHEN OLD.email IS NOT NEW.email OR OLD.first_name IS NOT NEW.first_name
      OR OLD.last_name IS NOT NEW.last_name OR OLD.company IS NOT NEW.company BEGIN
      INSERT INTO {TABLE} (lead_id, text) VALUES (NEW.id, {_text("NEW.", "char(31)")})
      ON CONFLICT (lead_id) DO UPDATE SET text = excluded.text;
    END""",
    f"DROP TRIGGER IF EXISTS {TABLE}_deleted",
    f"""CREATE TRIGGER {TABLE}_deleted AFTER DELETE ON leads_lead BEGIN
      DELETE FROM {TABLE} WHERE lead_id = OLD.id;
    END""",
]


def create(apps, schema_editor):
    """The table, its triggers and its rows (idempotent: a later migration may call it again)."""
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRESQL if postgresql else SQLITE:
        schema_editor.execute(statement)
    separator = "chr(31)" if postgresql else "char(31)"
    # After the triggers: a lead written meanwhile has its row already, and keeps it (DO NOTHING).
    schema_editor.execute(
        f"INSERT INTO {TABLE} (lead_id, text) SELECT id, {_text('', separator)} FROM leads_lead "
        "WHERE true ON CONFLICT (lead_id) DO NOTHING"
    )
    if postgresql:
        # CONCURRENTLY: neither building the new index nor dropping the old one blocks writes of leads.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} USING gin (upper(text) gin_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}")
        schema_editor.execute(f"ANALYZE {TABLE}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        columns = " || chr(31) || ".join(f'"{c}"' for c in ("email", "first_name", "last_name", "company"))
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_INDEX} ON leads_lead "
            f"USING gin (upper(({columns})::text) gin_trgm_ops)"
        )
        for event in ("inserted", "updated", "deleted", "truncated"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{event} ON leads_lead")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{event}()")
    else:
        for event in ("inserted", "updated", "deleted"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{event}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("leads", "0018_lead_scoring_version_idx_scored_only")]

    operations = [
        migrations.CreateModel(
            name="LeadSearch",
            fields=[
                (
                    "lead",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="leads.lead",
                    ),
                ),
                ("text", models.TextField()),
            ],
            options={"db_table": "leads_lead_search", "managed": False},
        ),
        migrations.RunPython(create, drop),
    ]
