"""Reporting periods: a month (``YYYY-MM``) or a quarter (``YYYY-Qn``), in the project's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MIN_YEAR, MAX_YEAR = 2000, 2100


class InvalidPeriod(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    """A half-open range of days ``[first_day, end_day)``; ``key`` is how the API and snapshots name it."""

    first_day: date
    end_day: date
    key: str

    @property
    def is_quarter(self) -> bool:
        return "Q" in self.key

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first_day, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end_day, time.min))

    @property
    def label(self) -> str:
        if self.is_quarter:
            return f"{self.key[-2:]} {self.first_day.year}"
        return self.first_day.strftime("%b %Y")

    def elapsed_share(self, now: datetime) -> float:
        """How much of the period has passed at ``now``: 0 before it starts, 1 once it is over."""
        start, end = self.start, self.end
        if now <= start:
            return 0.0
        if now >= end:
            return 1.0
        return (now - start).total_seconds() / (end - start).total_seconds()

    def same_point_in_previous(self, now: datetime) -> datetime:
        """The instant as far into the previous period as ``now`` is into this one: the same day of the
        period at the same time of day (2 Dec 10:00 → 2 Nov 10:00; 15 Feb, day 46 of Q1 → 15 Nov in Q4),
        never before the previous period's start nor after its end (31 Mar → the end of February)."""
        previous = self.previous()
        local = timezone.localtime(now)
        day = previous.first_day + timedelta(days=(local.date() - self.first_day).days)
        if day < previous.first_day:
            return previous.start
        if day >= previous.end_day:
            return previous.end
        return timezone.make_aware(datetime.combine(day, local.time()))

    def months(self) -> list[Period]:
        if not self.is_quarter:
            return [self]
        return [month_of(date(self.first_day.year, self.first_day.month + i, 1)) for i in range(3)]

    def previous(self) -> Period:
        if self.is_quarter:
            return quarter_of(add_months(self.first_day, -3))
        return month_of(add_months(self.first_day, -1))

    def quarter(self) -> Period:
        return quarter_of(self.first_day)

    def __str__(self) -> str:
        return self.key


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_of(day: date) -> Period:
    first = date(day.year, day.month, 1)
    return Period(first_day=first, end_day=add_months(first, 1), key=f"{first:%Y-%m}")


def quarter_of(day: date) -> Period:
    quarter = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * quarter - 2, 1)
    return Period(first_day=first, end_day=add_months(first, 3), key=f"{day.year}-Q{quarter}")


def parse_period(value: object) -> Period:
    """``2026-11`` or ``2026-Q4``; anything else raises ``InvalidPeriod`` with a message for the client."""
    text = value.strip() if isinstance(value, str) else ""
    if match := _MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        if MIN_YEAR <= year <= MAX_YEAR:
            return month_of(date(year, month, 1))
    elif match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        if MIN_YEAR <= year <= MAX_YEAR:
            return quarter_of(date(year, 3 * quarter - 2, 1))
    raise InvalidPeriod(
        f"Must be a month YYYY-MM or a quarter YYYY-Qn between {MIN_YEAR} and {MAX_YEAR}, "
        "e.g. 2026-11 or 2026-Q4."
    )


def today() -> date:
    return timezone.localdate()


def current_month(now: datetime | None = None) -> Period:
    return month_of(timezone.localdate(now) if now else today())


def current_quarter(now: datetime | None = None) -> Period:
    return quarter_of(timezone.localdate(now) if now else today())


def last_months(count: int, *, until: Period) -> list[Period]:
    """``count`` months ending with the month ``until`` starts in, oldest first."""
    last = month_of(until.first_day)
    return [month_of(add_months(last.first_day, -i)) for i in range(count - 1, -1, -1)]


def trend_months(period: Period) -> list[Period]:
    """The twelve months up to the one ``period`` ends in, oldest first."""
    return last_months(12, until=month_of(period.end_day - timedelta(days=1)))


def refresh_periods(now: datetime | None = None) -> list[Period]:
    """What the periodic refresh recomputes: the current and previous month and quarter."""
    month, quarter = current_month(now), current_quarter(now)
    return [month, month.previous(), quarter, quarter.previous()]
