"""The follow-up SLA clock: when a hand-off made now is due (wall-clock or business hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from funnel.models import FunnelSettings
from leads.models import StageKind
from leads.pipeline import Stages


def sla_deadline(*, stages: Stages, now: datetime) -> datetime:
    """When a hand-off made ``now`` is due: the MQL stage's SLA hours, in business hours if so configured."""
    org = FunnelSettings.load()
    hours = stages.first_of(StageKind.MQL).sla_hours or org.default_sla_hours
    if not org.business_hours_only:
        return now + timedelta(hours=hours)
    return add_business_hours(
        start=now, hours=hours, day_start=org.business_day_start, day_end=org.business_day_end
    )


def add_business_hours(*, start: datetime, hours: int, day_start: int, day_end: int) -> datetime:
    """``start`` plus ``hours`` counted on weekdays between ``day_start`` and ``day_end`` (local time)."""
    zone = timezone.get_default_timezone()
    cursor = start.astimezone(zone)
    remaining = timedelta(hours=hours)

    def opening(day: datetime) -> datetime:
        return day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=day_start)

    while True:
        midnight = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        close = midnight + timedelta(hours=day_end)
        if cursor.weekday() >= 5 or cursor >= close:
            cursor = opening(midnight + timedelta(days=1))
            continue
        cursor = max(cursor, opening(midnight))
        available = close - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(start.tzinfo)
        remaining -= available
        cursor = opening(midnight + timedelta(days=1))
