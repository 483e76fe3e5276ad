"""The statements of lead ingestion: upsert leads by e-mail, telling created from updated.

On PostgreSQL one statement per set of columns that existing leads take (one for a single lead, and for a
batch whose items send the same fields): every column travels as one array parameter, unnested into rows by
the server, whatever the number of leads. The same statement (data-modifying CTEs) writes nothing when an
e-mail sent is the alias of a merged lead (the caller follows the alias and calls again), writes the first
transitions of the new leads (``leads.pipeline_sql.FirstTransitions``) and returns each lead's stored row
when the caller answers with it: one round trip, no read-back. SQLite gets the rows as ``VALUES``, in chunks
under its limit of bound parameters, and the alias check, the transitions and the read-back as statements
of their own. Columns, their types and a new lead's defaults come from ``Lead._meta``; the columns a client
writes from ``leads.fields``.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.utils import timezone

from core.upsert_sql import INSERTED, UniqueKey, on_conflict_update, upsert_returning
from leads.fields import WRITABLE_FIELDS
from leads.models import Campaign, Lead, LeadAlias, Persona
from leads.pipeline_sql import FirstTransitions

# Columns a client writes, in the order the statements list them.
WRITABLE_COLUMNS: tuple[str, ...] = tuple(field.column for field in WRITABLE_FIELDS)
# The duplicate match keys, computed from the fields by the caller (``leads.duplicates``).
MATCH_KEY_COLUMNS: tuple[str, ...] = tuple(
    f.column for f in Lead._meta.concrete_fields if f.name in ("name_key", "phone_e164")
)
# Columns a row may carry: the client's, and the match keys.
ROW_COLUMNS: tuple[str, ...] = WRITABLE_COLUMNS + MATCH_KEY_COLUMNS
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


@dataclass(frozen=True)
class LeadRow:
    """One lead to upsert: ``values`` by column (``email`` always; a column absent takes a new lead's
    default) and the columns an existing lead takes from it (``overwrite``; all of ``values`` when None)."""

    values: dict[str, Any]
    overwrite: frozenset[str] | None = None

    @property
    def updated_columns(self) -> tuple[str, ...]:
        chosen = self.values.keys() if self.overwrite is None else self.overwrite
        return tuple(sorted(c for c in chosen if c != _EMAIL_COLUMN))


@dataclass(frozen=True)
class Upserted:
    id: int
    created: bool
    # The lead as stored after the upsert (persona and campaign with their slugs), when asked for.
    lead: Lead | None = None
    # The columns asked for (``returning``) as stored after the upsert, for a lead updated; {} for a new one.
    stored: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpsertOutcome:
    # By the e-mail sent.
    leads: dict[str, Upserted] = field(default_factory=dict)
    # E-mails sent that are aliases of merged leads → the e-mail of the lead each was merged into. When there
    # are any, nothing was written.
    aliases: dict[str, str] = field(default_factory=dict)


def upsert_lead_rows(
    *,
    rows: Iterable[LeadRow | dict[str, Any]],
    first_transitions: FirstTransitions | None = None,
    answer: bool = False,
    returning: tuple[str, ...] = (),
) -> UpsertOutcome:
    """Insert leads, or update those whose e-mail is stored already: only the columns a row overwrites.

    Each row maps columns to values (``persona_id``, not ``persona``; e-mails canonical, one row each).
    Nothing is written when an e-mail is a merged lead's alias (``UpsertOutcome.aliases``). New leads get
    their first transitions (``first_transitions``); with ``answer`` each lead comes back as stored, and
    each lead updated brings the ``returning`` columns as stored (``Upserted.stored``).
    Call inside a transaction.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    # A fixed order keeps concurrent batches deadlock-free.
    leads = sorted(
        (row if isinstance(row, LeadRow) else LeadRow(values=row) for row in rows),
        key=lambda r: r.values[_EMAIL_COLUMN],
    )
    for row in leads:
        groups.setdefault(row.updated_columns, []).append(row.values)
    emails = [row.values[_EMAIL_COLUMN] for row in leads]
    if connection.vendor == "postgresql":
        return _upsert_postgres(groups, emails, first_transitions, answer, returning)
    return _upsert_sqlite(groups, emails, first_transitions, answer, returning)


def writes_in_one_statement(rows: Sequence[LeadRow]) -> bool:
    """Whether ``upsert_lead_rows`` writes these rows (and their first transitions) in one statement, which
    is atomic by itself: on PostgreSQL, when every row overwrites the same columns."""
    return connection.vendor == "postgresql" and len({row.updated_columns for row in rows}) <= 1


# --- PostgreSQL -------------------------------------------------------------------------------------------


def _array_literal(values: Sequence[Any], kind: str) -> str:
    """A PostgreSQL array literal: one text parameter, so the client does not quote every value apart."""
    if kind == "bool":
        items = ("NULL" if v is None else "t" if v else "f" for v in values)
    elif kind == "int":
        items = ("NULL" if v is None else str(int(v)) for v in values)
    else:
        items = (
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values
        )
    return "{" + ",".join(items) + "}"


# A row's value of a JSON column that the row does not carry (a dict or None would be a value).
_ABSENT = object()
# Between the text values of a batch while they are escaped together; a value holding it is detected.
_SEPARATOR = "\x1f"
_BOOLEANS = {True: "t", False: "f", None: "NULL"}


def _row_arrays(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The array literal of each of ``ROW_COLUMNS`` for these rows (a new lead's default where a row has no
    value), built in one pass over the rows: their values are read row by row into one list, each column is
    a slice of it, and the text of every column is escaped in one go."""
    if not rows:
        return ["{}"] * len(ROW_COLUMNS)
    kinds = _column_kinds()
    plan = [(c, _ABSENT if c in JSON_COLUMNS else NEW_LEAD_DEFAULTS[c]) for c in ROW_COLUMNS]
    width = len(plan)
    values = [row.get(column, default) for row in rows for column, default in plan]
    arrays = [""] * width
    texts: list[tuple[int, list[Any]]] = []
    for index, column in enumerate(ROW_COLUMNS):
        column_values = values[index::width]
        kind = kinds[column][1]
        if column in JSON_COLUMNS:
            absent = json.dumps(NEW_LEAD_DEFAULTS[column])
            column_values = [absent if v is _ABSENT else json.dumps(v) for v in column_values]
        if kind == "bool":
            arrays[index] = "{" + ",".join([_BOOLEANS[v] for v in column_values]) + "}"
        elif kind == "int" or None in column_values:
            arrays[index] = _array_literal(column_values, kind)
        else:
            texts.append((index, column_values))
    count = len(rows)
    flat = [value for _, column_values in texts for value in column_values]
    escaped = _SEPARATOR.join(flat).replace("\\", "\\\\").replace('"', '\\"').split(_SEPARATOR)
    # TRICKY: a value holding the separator would shift every value after it into another lead's row.
    # Validation refuses control characters in text, but should one get here, each value is quoted apart.
    lined_up = len(escaped) == len(flat)
    for position, (index, column_values) in enumerate(texts):
        if lined_up:
            arrays[index] = '{"' + '","'.join(escaped[position * count : (position + 1) * count]) + '"}'
        else:
            arrays[index] = _array_literal(column_values, "text")
    return arrays


@functools.cache
def _column_kinds() -> dict[str, tuple[str, str]]:
    """{column: (array type, literal kind)}. Text travels as text[] (a varchar(n)[] cast would cut overlong
    values silently); JSON as its text."""
    by_column = {field.column: field for field in _STORED_FIELDS}
    kinds = {}
    for column in ROW_COLUMNS:
        model_field = by_column[column]
        if isinstance(model_field, models.CharField | models.JSONField):
            kinds[column] = ("text[]", "text")
        elif isinstance(model_field, models.BooleanField):
            kinds[column] = ("boolean[]", "bool")
        else:
            kinds[column] = (f"{model_field.db_type(connection)}[]", "int")
    return kinds


# What the statement returns for each lead when the caller answers with it: every column, then the slugs.
_ANSWER_FIELDS = tuple(Lead._meta.concrete_fields)


@functools.cache
def _postgres_statement(
    updated: tuple[str, ...], first: FirstTransitions | None, answer: bool, returning: tuple[str, ...]
) -> str:
    kinds = _column_kinds()
    table = _EMAIL.table
    unnest = ", ".join(f"%s::{kinds[c][0]}" for c in ROW_COLUMNS)
    selected = ", ".join(f"u.{c}::jsonb" if c in JSON_COLUMNS else f"u.{c}" for c in ROW_COLUMNS)
    fixed = tuple(c for c in ALL_COLUMNS if c not in ROW_COLUMNS)
    fixed_values = ", ".join("%s::jsonb" if c in JSON_COLUMNS else "%s" for c in fixed)
    # The first transitions read each row's ``created_at``.
    base = ["id", _EMAIL_COLUMN, _TIMESTAMP_COLUMNS[0]]
    returned = "*" if answer else ", ".join(dict.fromkeys([*base, *returning]))
    alias = LeadAlias._meta.db_table
    parts = [
        # TRICKY: a merged lead's alias must update the survivor; following it here could make two rows of
        # one statement update the same lead, so the statement writes nothing and tells the caller.
        f"WITH hit AS (SELECT lower(a.email) AS sent, l.{_EMAIL_COLUMN} AS survivor FROM {alias} a "
        f"JOIN {table} l ON l.id = a.lead_id WHERE lower(a.email) = ANY(%s::text[])), "
        f"up AS (INSERT INTO {table} ({', '.join(ROW_COLUMNS)}, {', '.join(fixed)}) "
        f"SELECT {selected}, {fixed_values} FROM unnest({unnest}) AS u({', '.join(ROW_COLUMNS)}) "
        "WHERE NOT EXISTS (SELECT FROM hit)"
        + on_conflict_update(_EMAIL, [*updated, _TIMESTAMP_COLUMNS[1]])
        + f" RETURNING {returned}, {INSERTED} AS inserted)"
    ]
    if first is not None:
        parts.append(f", moved AS ({first.cte('up')[0]})")
    columns = ["up.id", f"up.{_EMAIL_COLUMN}", "up.inserted", "NULL"]
    if answer:
        columns += [f"up.{f.column}" for f in _ANSWER_FIELDS] + ["p.slug", "c.slug"]
    # Only an updated lead's: a new lead's come from the row sent, and NULLs cost the client nothing.
    columns += [f"CASE WHEN NOT up.inserted THEN up.{c} END" for c in returning]
    parts.append(f" SELECT {', '.join(columns)} FROM up")
    if answer:
        parts.append(
            f" LEFT JOIN {Persona._meta.db_table} p ON p.id = up.persona_id"
            f" LEFT JOIN {Campaign._meta.db_table} c ON c.id = up.campaign_id"
        )
    padding = "".join(", NULL" for _ in columns[4:])
    parts.append(f" UNION ALL SELECT NULL, sent, NULL, survivor{padding} FROM hit")
    return "".join(parts)


@functools.cache
def _fixed_defaults() -> dict[str, Any]:
    return {
        c: json.dumps(NEW_LEAD_DEFAULTS[c]) if c in JSON_COLUMNS else NEW_LEAD_DEFAULTS[c]
        for c in ALL_COLUMNS
        if c not in ROW_COLUMNS and c not in _TIMESTAMP_COLUMNS
    }


def _upsert_postgres(
    groups: dict[tuple[str, ...], list[dict[str, Any]]],
    emails: list[str],
    first: FirstTransitions | None,
    answer: bool,
    returning: tuple[str, ...],
) -> UpsertOutcome:
    defaults = _fixed_defaults()
    now = timezone.now()
    fixed = (c for c in ALL_COLUMNS if c not in ROW_COLUMNS)
    fixed_params = [now if c in _TIMESTAMP_COLUMNS else defaults[c] for c in fixed]
    first_params = first.cte("up")[1] if first is not None else []
    outcome = UpsertOutcome()
    checked = False
    with connection.cursor() as cursor:
        for updated, rows in groups.items():
            arrays = _row_arrays(rows)
            # The first statement checks every e-mail of the call for aliases, so that none is written twice.
            aliases = _array_literal([] if checked else emails, "text")
            checked = True
            cursor.execute(
                _postgres_statement(updated, first, answer, returning),
                [aliases, *fixed_params, *arrays, *first_params],
            )
            for record in cursor.fetchall():
                lead_id, email, inserted, survivor = record[:4]
                if survivor is not None:
                    outcome.aliases[email] = survivor
                    continue
                lead = _lead_from(record[4 : len(record) - len(returning)]) if answer else None
                stored = dict(zip(returning, record[len(record) - len(returning) :], strict=True))
                outcome.leads[email] = Upserted(
                    id=lead_id, created=bool(inserted), lead=lead, stored={} if inserted else stored
                )
            if outcome.aliases:
                return UpsertOutcome(aliases=outcome.aliases)
    return outcome


def _lead_from(values: Sequence[Any]) -> Lead:
    """A lead from the columns the statement returns (``_ANSWER_FIELDS``, then the persona's and the
    campaign's slugs): what a read of the lead would give, without reading it."""
    stored = list(values[: len(_ANSWER_FIELDS)])
    for index, model_field in enumerate(_ANSWER_FIELDS):
        if isinstance(model_field, models.JSONField) and isinstance(stored[index], str):
            stored[index] = json.loads(stored[index])
    lead = Lead.from_db(connection.alias, [f.attname for f in _ANSWER_FIELDS], stored)
    persona_slug, campaign_slug = values[len(_ANSWER_FIELDS) :]
    if lead.persona_id is not None:
        lead.persona = Persona(id=lead.persona_id, slug=persona_slug)
    if lead.campaign_id is not None:
        lead.campaign = Campaign(id=lead.campaign_id, slug=campaign_slug)
    return lead


# --- SQLite -----------------------------------------------------------------------------------------------


def _upsert_sqlite(
    groups: dict[tuple[str, ...], list[dict[str, Any]]],
    emails: list[str],
    first: FirstTransitions | None,
    answer: bool,
    returning: tuple[str, ...],
) -> UpsertOutcome:
    outcome = UpsertOutcome()
    with connection.cursor() as cursor:
        for start in range(0, len(emails), 500):
            chunk = emails[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT lower(a.email), l.{_EMAIL_COLUMN} FROM {LeadAlias._meta.db_table} a "
                f"JOIN {_EMAIL.table} l ON l.id = a.lead_id WHERE lower(a.email) IN ({marks})",
                chunk,
            )
            outcome.aliases.update(dict(cursor.fetchall()))
    if outcome.aliases:
        return outcome
    found: dict[str, tuple[int, bool]] = {}
    for updated, rows in groups.items():
        chunk_size = max(1, _MAX_PARAMS // len(ALL_COLUMNS))
        for start in range(0, len(rows), chunk_size):
            found.update(_upsert_sqlite_chunk(updated, rows[start : start + chunk_size]))
    if first is not None:
        first.insert(lead_ids=sorted(pk for pk, created in found.values() if created))
    stored = (
        Lead.objects.select_related("persona", "campaign").in_bulk([pk for pk, _ in found.values()])
        if answer
        else {}
    )
    updated_ids = [pk for pk, created in found.values() if not created]
    returned = (
        {row["id"]: row for row in Lead.objects.filter(pk__in=updated_ids).values("id", *returning)}
        if returning and updated_ids
        else {}
    )
    outcome.leads = {
        email: Upserted(
            id=pk,
            created=created,
            lead=stored.get(pk),
            stored={c: returned[pk][c] for c in returning} if pk in returned else {},
        )
        for email, (pk, created) in found.items()
    }
    return outcome


def _upsert_sqlite_chunk(
    updated: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> dict[str, tuple[int, bool]]:
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
        + on_conflict_update(_EMAIL, [*updated, _TIMESTAMP_COLUMNS[1]])
    )
    keys = (row[_EMAIL_COLUMN] for row in rows)
    return upsert_returning(key=_EMAIL, statement=statement, params=params, keys=keys)
