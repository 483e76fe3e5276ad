"""Keyset pagination for pages: "next" and "previous" links that carry a cursor, never an OFFSET.

A page is ordered by one key column plus ``id`` as the tie-breaker. The cursor holds the key and id of the
row to continue from and the direction, so every page is one indexed range scan whatever its depth, and
no query ever counts the whole table.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db.models import Field, Q, QuerySet

from core.errors import ValidationProblem
from core.inputs import datetime_problem

T = TypeVar("T")  # a page's rows: model instances, or what a page makes of them
R = TypeVar("R")  # what a queryset yields: model instances, or named rows (see ``paginate``)

FORWARD = "n"
BACKWARD = "p"


@dataclass(frozen=True)
class Cursor:
    value: Any
    id: int
    direction: str


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _dump(value: Any, *, nested: bool = False) -> Any:
    if isinstance(value, tuple | list) and not nested:  # a compound key, such as (time, type)
        return [_dump(part, nested=True) for part in value]
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _load(value: Any, *, nested: bool = False) -> Any:
    if isinstance(value, list) and not nested:
        return tuple(_load(part, nested=True) for part in value)
    if isinstance(value, dict) and isinstance(value.get("dt"), str):
        parsed = dt.datetime.fromisoformat(value["dt"])
        if parsed.tzinfo is None:
            raise ValueError("naive datetime in cursor")
        problem = datetime_problem(parsed)  # an offset of +16:00 would reach PostgreSQL, which refuses it
        if problem:
            raise ValueError(problem)
        return parsed.astimezone(dt.UTC)
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    raise ValueError("bad cursor value")


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([_dump(cursor.value), cursor.id, cursor.direction], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Ids and integer keys in a cursor stay within a signed 64-bit column.
_MAX_ID = 2**63 - 1


def decode_cursor(token: str | None) -> Cursor | None:
    """The cursor, or ``None`` for a missing or malformed one (which then shows the first page)."""
    if not token or len(token) > 400:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        value, row_id, direction = json.loads(raw)
        if not isinstance(row_id, int) or isinstance(row_id, bool) or direction not in (FORWARD, BACKWARD):
            return None
        if not 0 <= row_id <= _MAX_ID or (isinstance(value, int) and abs(value) > _MAX_ID):
            return None
        return Cursor(value=_load(value), id=row_id, direction=direction)
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        return None


def invalid_cursor() -> ValidationProblem:
    return ValidationProblem({"cursor": ["This cursor is not valid here; start again from the first page."]})


def _after(key: str, descending: bool, cursor: Cursor, *, reverse: bool) -> Q:
    """Rows strictly after the cursor in the page order (or before it, when ``reverse``).

    TRICKY: written as ``key <= v AND (key < v OR id < i)`` rather than the plain OR, so that the first
    term bounds an index range scan on ``(key, id)`` and deep pages cost no more than the first one.
    """
    later = descending != reverse  # "after" means smaller values in a descending order
    op = "lt" if later else "gt"
    return Q(**{f"{key}__{op}e": cursor.value}) & (
        Q(**{f"{key}__{op}": cursor.value}) | Q(**{f"id__{op}": cursor.id})
    )


def paginate(
    queryset: QuerySet[Any, R],
    *,
    key: str,
    descending: bool,
    cursor: str | None,
    page_size: int,
    strict: bool = False,
) -> KeysetPage[R]:
    """One page of ``queryset`` ordered by ``key`` then ``id`` (both in the same direction): one query.

    ``key`` must be a non-null column of the model, ideally covered by an index on ``(key, id)``. The rows
    are model instances, or named rows that carry ``pk`` and ``key`` (``values_list("pk", key, …,
    named=True)``), which cost a fraction of an instance each.

    A stale or forged cursor shows the first page, or with ``strict`` (the API) is a ``ValidationProblem``
    naming ``cursor``.
    """
    position = decode_cursor(cursor)
    try:
        if position is not None:
            value = cast(Field, queryset.model._meta.get_field(key)).to_python(position.value)
            if type(value) is not type(position.value):
                raise TypeError("the cursor's value is not of the key's type")
    except (ValidationError, TypeError, ValueError):  # a stale or forged link shows the first page
        position = None
    if strict and cursor is not None and position is None:
        raise invalid_cursor()
    backward = position is not None and position.direction == BACKWARD
    sign = "-" if descending != backward else ""
    ordered = queryset.order_by(f"{sign}{key}", f"{sign}id")
    if position is not None:
        ordered = ordered.filter(_after(key, descending, position, reverse=backward))
    rows = list(ordered[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if backward:
        rows.reverse()

    def cursor_at(row: R, direction: str) -> str:
        return encode_cursor(Cursor(value=getattr(row, key), id=cast(Any, row).pk, direction=direction))

    has_next = has_more if not backward else True
    has_previous = position is not None and (has_more if backward else True)
    return KeysetPage(
        rows=rows,
        next_cursor=cursor_at(rows[-1], FORWARD) if rows and has_next else None,
        previous_cursor=cursor_at(rows[0], BACKWARD) if rows and has_previous else None,
    )
