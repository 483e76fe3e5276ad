"""The limits every datetime and integer parameter from outside must respect.

One rule per kind of value, used by the pydantic payloads, DRF fields, filters and pages alike, so that no
endpoint answers a server error because PostgreSQL (or Python) cannot hold what a client sent:

- A datetime lies between 1900-01-01 and 2100-01-01 (UTC) and its UTC offset is at most ±14:00 (the
  widest in use; PostgreSQL refuses offsets beyond ±15:59, Python's arithmetic breaks near year 1).
- An integer parameter is ASCII digits: ``"²".isdigit()`` is true, but ``int("²")`` fails.

JSON values have theirs in ``core.json_values``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils.dateparse import parse_datetime

from core.errors import ValidationProblem

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_UTC_OFFSET = timedelta(hours=14)

DATETIME_RANGE_MESSAGE = "Must be a date between 1900-01-01 and 2100-01-01."
UTC_OFFSET_MESSAGE = "The UTC offset must be between -14:00 and +14:00."
NAIVE_MESSAGE = "Give a date and time with a UTC offset (ISO 8601, e.g. 2026-11-02T09:30:00+01:00)."


def datetime_problem(value: datetime) -> str | None:
    """What is wrong with a datetime from outside, or None. A naive value is judged as if it were UTC."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return UTC_OFFSET_MESSAGE
    # TRICKY: compare the wall-clock time first; subtracting the offset of 0001-01-01T00:00+14:00 would
    # overflow below year 1 before any comparison could refuse it.
    naive = value.replace(tzinfo=None)
    if not EARLIEST.replace(tzinfo=None) <= naive <= LATEST.replace(tzinfo=None):
        return DATETIME_RANGE_MESSAGE
    aware = value if offset is not None else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware <= LATEST:
        return DATETIME_RANGE_MESSAGE
    return None


def datetime_in_range(value: datetime) -> datetime:
    """pydantic ``AfterValidator`` (and plain check): ``value``, or a ``ValueError`` saying why not."""
    problem = datetime_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def datetime_param(raw: str | None, *, name: str) -> datetime | None:
    """An aware datetime from a query parameter (None when absent or empty); a 400 naming it otherwise."""
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:  # well-formed but impossible, such as an offset of 24 hours
        value = None
    if value is None or value.utcoffset() is None:
        raise ValidationProblem({name: [NAIVE_MESSAGE]})
    problem = datetime_problem(value)
    if problem:
        raise ValidationProblem({name: [problem]})
    return value


def is_whole_number(raw: str) -> bool:
    """Whether ``raw`` is ASCII digits only (``str.isdigit`` accepts "²" and other Unicode digits)."""
    return raw.isascii() and raw.isdigit()


def int_param(raw: str | None, *, name: str, default: int, minimum: int = 1, maximum: int) -> int:
    """A whole number from a query or form parameter: ``default`` when absent, a 400 naming it when bad."""
    if raw is None or raw == "":
        return default
    if not is_whole_number(raw) or len(raw) > 12 or not minimum <= int(raw) <= maximum:
        raise ValidationProblem({name: [f"A whole number from {minimum} to {maximum}."]})
    return int(raw)
