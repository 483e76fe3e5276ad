"""Upsert rows and tell which were created and which updated: one technique for every upsert hot path.

``INSERT … ON CONFLICT … DO UPDATE … RETURNING`` writes every row in one statement. On PostgreSQL the
returned ``xmax = 0`` tells an inserted row from an updated one exactly, even under concurrency. SQLite has
no ``xmax``; its writers are serialised (``IMMEDIATE`` transactions), so looking the keys up first, in the
same transaction, is exact too. Callers build the ``INSERT`` (table and columns from ``_meta``) in their own
``*_sql`` module; this module adds the conflict clause and the ``RETURNING`` part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

# In a PostgreSQL ``RETURNING`` of ``INSERT … ON CONFLICT … DO UPDATE``: true for a row inserted, false for
# one updated (``xmax`` is 0 only on a tuple no transaction has locked or updated).
INSERTED = "(xmax = 0)"


@dataclass(frozen=True)
class UniqueKey:
    """The unique index an upsert meets, e.g. ``lower(email)`` of leads or ``external_id`` of activities."""

    table: str
    # The column that names a row in the answer (its values are the keys the caller sent).
    column: str
    # The indexed expression, and for a partial index its predicate.
    expression: str
    where: str = ""

    @property
    def conflict_target(self) -> str:
        return f"({self.expression})" + (f" WHERE {self.where}" if self.where else "")


def on_conflict_update(key: UniqueKey, columns: Iterable[str]) -> str:
    """`` ON CONFLICT … DO UPDATE SET`` each of ``columns`` to the value the statement tried to insert."""
    assignments = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)
    return f" ON CONFLICT {key.conflict_target} DO UPDATE SET {assignments}"


def upsert_returning(
    *, key: UniqueKey, statement: str, params: Sequence[Any], keys: Iterable[Any]
) -> dict[Any, tuple[int, bool]]:
    """Run ``statement`` (an ``INSERT … ON CONFLICT … DO UPDATE`` of the rows whose keys are ``keys``).

    Returns ``{key: (id, created)}``. ``keys`` is read only where the database cannot tell by itself (pass a
    generator to spare PostgreSQL the work). Call inside a transaction.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{statement} RETURNING id, {key.column}, {INSERTED}", params)
            return {row_key: (row_id, bool(inserted)) for row_id, row_key, inserted in cursor.fetchall()}
        sent = list(keys)
        placeholders = ", ".join(["%s"] * len(sent))
        cursor.execute(
            f"SELECT {key.column} FROM {key.table} WHERE {key.expression} IN ({placeholders})", sent
        )
        stored = {row_key for (row_key,) in cursor.fetchall()}
        cursor.execute(f"{statement} RETURNING id, {key.column}", params)
        return {row_key: (row_id, row_key not in stored) for row_id, row_key in cursor.fetchall()}
