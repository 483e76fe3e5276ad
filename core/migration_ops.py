"""Migration operations that Django lacks."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.migrations import AlterField


class DropForeignKeyIndex(AlterField):
    """A foreign key's field becomes ``db_index=False``: drop the index Django made for it, and only that.

    TRICKY: Django's ``AlterField`` drops the foreign key constraint and adds it again for this change, and
    adding it checks every row while it holds a lock that blocks writes to both tables (on SQLite it copies
    the whole table). The constraint does not need its own index: deletes of the referenced row find the
    referencing rows through whatever index ``Meta.indexes`` gives the column.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = from_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        # As Django's own AlterField finds the index: on the column, not one of Meta.indexes.
        declared = {index.name for index in model._meta.indexes}
        names = schema_editor._constraint_names(
            model, [field.column], index=True, type_=models.Index.suffix, exclude=declared
        )
        for name in names:
            schema_editor.execute(schema_editor._delete_index_sql(model, name))

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self) -> str:
        return f"Drop the index of foreign key {self.name} on {self.model_name}, keeping its constraint"
