"""Reading the audit trail: the managers' filterable list of who did what."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.models import AuditEvent


def audit_events(
    *,
    action: str = "",
    actor_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Events matching the filters; ``action`` matches a prefix ("lead." finds every lead action).

    ``since`` and ``until`` are whole days in the site's time zone, both included.
    """
    events = AuditEvent.objects.select_related("actor")
    if action:
        events = events.filter(action__startswith=action)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if since is not None:
        events = events.filter(at__gte=_start_of(since))
    if until is not None:
        events = events.filter(at__lt=_start_of(until + dt.timedelta(days=1)))
    return events


def _start_of(day: dt.date) -> Any:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
