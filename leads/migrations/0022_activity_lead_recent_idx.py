"""One index for a lead's activities, newest first, covering what scoring reads: ``activity_lead_recent_idx``.

``(lead_id, occurred_at DESC, id DESC) INCLUDE (type)``: the full rescore reads of an activity its lead, time,
id and type (``scoring.scoring_sql``), so on PostgreSQL it scans a range of leads' activities from the index
alone (an index-only scan: no visit to the table while the visibility map says the pages are all visible,
which autovacuum keeps for a table that is mostly appended to). It replaces ``activity_lead_time_idx``
``(lead_id, occurred_at DESC)`` and the foreign key's ``(lead_id)`` index, both prefixes of it: a new activity
writes two index entries fewer than it would with all three.

On PostgreSQL the index is built and the old ones dropped CONCURRENTLY, so recording activities goes on
meanwhile. SQLite has no ``INCLUDE`` (Django leaves it out): there the index is
``(lead_id, occurred_at DESC, id DESC)``. The
foreign key's index is found by its column (its name is Django's hash); Django's ``AlterField`` would rebuild
the table on SQLite, so only the state changes through it.
"""

from __future__ import annotations

from django.db import migrations, models

TABLE = "leads_activity"
INDEX = "activity_lead_recent_idx"
OLD_INDEX = "activity_lead_time_idx"
OLD = models.Index(fields=["lead", "-occurred_at"], name=OLD_INDEX)
RECENT = models.Index(fields=["lead", "-occurred_at", "-id"], include=["type"], name=INDEX)


def _lead_id_indexes(schema_editor) -> list[str]:
    """The plain indexes on ``(lead_id)`` alone: the foreign key's."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return sorted(
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == ["lead_id"]
    )


def _concurrently(schema_editor) -> dict[str, bool]:
    # CONCURRENTLY: a table of millions of activities keeps taking new ones while indexes come and go.
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def create(apps, schema_editor):
    Activity = apps.get_model("leads", "Activity")
    schema_editor.add_index(Activity, RECENT, **_concurrently(schema_editor))
    for name in [OLD_INDEX, *_lead_id_indexes(schema_editor)]:
        schema_editor.remove_index(
            Activity, models.Index(fields=["lead"], name=name), **_concurrently(schema_editor)
        )


def drop(apps, schema_editor):
    Activity = apps.get_model("leads", "Activity")
    schema_editor.add_index(Activity, OLD, **_concurrently(schema_editor))
    if not _lead_id_indexes(schema_editor):
        name = schema_editor._create_index_name(TABLE, ["lead_id"], suffix="")
        schema_editor.add_index(
            Activity, models.Index(fields=["lead"], name=name), **_concurrently(schema_editor)
        )
    schema_editor.remove_index(Activity, RECENT, **_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("leads", "0021_transition_fk_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="activity",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="activities",
                        to="leads.lead",
                    ),
                ),
                migrations.RemoveIndex(model_name="activity", name=OLD_INDEX),
                migrations.AddIndex(model_name="activity", index=RECENT),
            ],
            database_operations=[migrations.RunPython(create, drop)],
        ),
    ]
