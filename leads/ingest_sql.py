"""The statements of lead ingestion: upsert leads by e-mail, telling created from updated.

On PostgreSQL one statement per set of fields sent: one array parameter per column, unnested into rows
by the server, whatever the number of leads. SQLite gets the rows as ``VALUES``, in chunks under its limit
of bound parameters. Columns, their types and a new lead's defaults come from ``Lead._meta``; the columns a
client writes from ``leads.fields``.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

from core.upsert_sql import UniqueKey, on_conflict_update, upsert_returning
from leads.fields import WRITABLE_FIELDS
from leads.models import Lead

# Columns a client writes, in the order the statements list them.
WRITABLE_COLUMNS: tuple[str, ...] = tuple(field.column for field in WRITABLE_FIELDS)
_STORED_FIELDS = tuple(field for field in Lead._meta.concrete_fields if not field.primary_key)
# Every column a new lead's row fills: what the client sent, the defaults of the rest.
ALL_COLUMNS: tuple[str, ...] = tuple(field.column for field in _STORED_FIELDS)
JSON_COLUMNS = frozenset(field.column for field in _STORED_FIELDS if isinstance(field, models.JSONField))
_TIMESTAMP_COLUMNS = (Lead._meta.get_field("created_at").column, Lead._meta.get_field("updated_at").column)
_EMAIL_COLUMN = Lead._meta.get_field("email").column
# The unique index ``lead_email_ci_unique``.
_EMAIL = UniqueKey(table=Lead._meta.db_table, column=_EMAIL_COLUMN, expression=f"lower({_EMAIL_COLUMN})")
# SQLite caps the bound parameters of one statement; stay under it.
_MAX_PARAMS = 30_000


def _default(field: models.Field) -> Any:
    value = field.get_default()
    return value.value if isinstance(value, enum.Enum) else value


# {column: value} of a new lead's columns that the client did not send (the timestamps are the time of the
# upsert). Scoring and the pipeline own the columns a client cannot write; these are their starting values.
NEW_LEAD_DEFAULTS: dict[str, Any] = {
    field.column: _default(field) for field in _STORED_FIELDS if field.column not in _TIMESTAMP_COLUMNS
}


def upsert_lead_rows(*, rows: Iterable[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    """Insert leads, or update those whose e-mail is stored already: only the columns a row has.

    Each row maps columns to values (``email`` always among them; ``persona_id``, not ``persona``).
    One ``INSERT … ON CONFLICT (lower(email)) DO UPDATE`` per set of columns sent.
    Returns ``{email: (id, created)}``. Call inside a transaction.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    # A fixed order keeps concurrent batches deadlock-free.
    for row in sorted(rows, key=lambda r: r[_EMAIL_COLUMN]):
        groups.setdefault(tuple(sorted(row)), []).append(row)
    outcome: dict[str, tuple[int, bool]] = {}
    postgres = connection.vendor == "postgresql"
    for sent, group in groups.items():
        if postgres:
            outcome.update(_upsert_postgres(sent, group))
        else:
            chunk = max(1, _MAX_PARAMS // len(ALL_COLUMNS))
            for start in range(0, len(group), chunk):
                outcome.update(_upsert_sqlite(sent, group[start : start + chunk]))
    return outcome


def _conflict_clause(sent: tuple[str, ...]) -> str:
    return on_conflict_update(_EMAIL, [*(c for c in sent if c != _EMAIL_COLUMN), _TIMESTAMP_COLUMNS[1]])


@functools.cache
def _postgres_parts() -> tuple[str, str, tuple[str, ...], str, dict[str, Any]]:
    """The parts of the PostgreSQL statement that do not depend on the rows."""
    by_column = {field.column: field for field in _STORED_FIELDS}

    def array_type(column: str) -> str:
        field = by_column[column]
        # Text travels as text[] (a varchar(n)[] cast would cut overlong values silently); JSON as its text.
        if isinstance(field, models.CharField | models.JSONField):
            return "text[]"
        return f"{field.db_type(connection)}[]"

    unnest = ", ".join(f"%s::{array_type(c)}" for c in WRITABLE_COLUMNS)
    selected = ", ".join(f"u.{c}::jsonb" if c in JSON_COLUMNS else f"u.{c}" for c in WRITABLE_COLUMNS)
    fixed = tuple(c for c in ALL_COLUMNS if c not in WRITABLE_COLUMNS)
    fixed_values = ", ".join("%s::jsonb" if c in JSON_COLUMNS else "%s" for c in fixed)
    fixed_defaults = {
        c: json.dumps(NEW_LEAD_DEFAULTS[c]) if c in JSON_COLUMNS else NEW_LEAD_DEFAULTS[c]
        for c in fixed
        if c not in _TIMESTAMP_COLUMNS
    }
    return unnest, selected, fixed, fixed_values, fixed_defaults


def _upsert_postgres(sent: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    unnest, selected, fixed, fixed_values, fixed_defaults = _postgres_parts()
    columns: dict[str, list[Any]] = {column: [] for column in WRITABLE_COLUMNS}
    for row in rows:
        for column, values in columns.items():
            value = row.get(column, NEW_LEAD_DEFAULTS[column])
            values.append(json.dumps(value) if column in JSON_COLUMNS else value)
    now = timezone.now()
    fixed_params = [now if c in _TIMESTAMP_COLUMNS else fixed_defaults[c] for c in fixed]
    statement = (
        f"INSERT INTO {_EMAIL.table} ({', '.join(WRITABLE_COLUMNS)}, {', '.join(fixed)}) "
        f"SELECT {selected}, {fixed_values} FROM unnest({unnest}) AS u({', '.join(WRITABLE_COLUMNS)})"
        + _conflict_clause(sent)
    )
    params = [*fixed_params, *columns.values()]
    return upsert_returning(key=_EMAIL, statement=statement, params=params, keys=columns[_EMAIL_COLUMN])


def _upsert_sqlite(sent: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    placeholders = ", ".join(["%s"] * len(ALL_COLUMNS))
    params: list[Any] = []
    for row in rows:
        for column in ALL_COLUMNS:
            value = now if column in _TIMESTAMP_COLUMNS else row.get(column, NEW_LEAD_DEFAULTS[column])
            params.append(json.dumps(value) if column in JSON_COLUMNS else value)
    statement = (
        f"INSERT INTO {_EMAIL.table} ({', '.join(ALL_COLUMNS)}) VALUES "
        + ", ".join(f"({placeholders})" for _ in rows)
        + _conflict_clause(sent)
    )
    keys = (row[_EMAIL_COLUMN] for row in rows)
    return upsert_returning(key=_EMAIL, statement=statement, params=params, keys=keys)
