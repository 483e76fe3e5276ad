"""The statement that lists likely duplicate pairs: a self-join of leads on each indexed match key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from leads.models import Lead

_KEYS = (("name", "name_key"), ("phone", "phone_e164"), ("external_id", "external_id"))


@dataclass(frozen=True)
class PairRow:
    first_id: int
    second_id: int
    reasons: tuple[str, ...]


_WRITE_CHUNK = 5000


def write_match_keys(*, rows: Sequence[tuple[int, str, str]]) -> None:
    """Set ``(id, name_key, phone_e164)`` of many leads: one ``UPDATE … FROM`` per chunk of rows (arrays on
    PostgreSQL, ``VALUES`` on SQLite)."""
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _WRITE_CHUNK):
            chunk = rows[start : start + _WRITE_CHUNK]
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"UPDATE {table} AS l SET name_key = v.name_key, phone_e164 = v.phone_e164 "
                    "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, name_key, phone_e164) "
                    "WHERE l.id = v.id",
                    [[r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]],
                )
            else:
                values = ", ".join(["(%s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"WITH v(id, name_key, phone_e164) AS (VALUES {values}) "
                    f"UPDATE {table} SET name_key = v.name_key, phone_e164 = v.phone_e164 "
                    f"FROM v WHERE {table}.id = v.id",
                    [value for row in chunk for value in row],
                )


def duplicate_pairs(*, limit: int) -> list[PairRow]:
    """Up to ``limit`` pairs (older lead first), the pairs with the newest lead first.

    One ``UNION ALL`` branch per key, each an indexed equality join over non-empty keys; the same pair
    found by two keys is one row with both reasons. The same SQL runs on PostgreSQL and SQLite.
    """
    table = Lead._meta.db_table
    branches = " UNION ALL ".join(
        f"SELECT a.id AS first_id, b.id AS second_id, '{reason}' AS reason "
        f"FROM {table} a JOIN {table} b ON b.{column} = a.{column} AND b.id > a.id "
        f"WHERE a.{column} <> ''"
        for reason, column in _KEYS
    )
    statement = (
        f"SELECT first_id, second_id, reason FROM ({branches}) pairs "
        "WHERE (first_id, second_id) IN ("
        f"SELECT first_id, second_id FROM ({branches}) p "
        "GROUP BY first_id, second_id ORDER BY second_id DESC, first_id DESC LIMIT %s) "
        "ORDER BY second_id DESC, first_id DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [limit])
        found: dict[tuple[int, int], list[str]] = {}
        for first_id, second_id, reason in cursor.fetchall():
            found.setdefault((first_id, second_id), []).append(reason)
    order = [reason for reason, _ in _KEYS]
    return [
        PairRow(first_id=a, second_id=b, reasons=tuple(sorted(reasons, key=order.index)))
        for (a, b), reasons in found.items()
    ]
