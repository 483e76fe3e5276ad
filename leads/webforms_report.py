"""A web form's numbers: submissions per day, and how far its leads got down the funnel.

A form's submissions are its ``form_submit`` activities (the metadata names the form's key); its leads are
the leads with at least one. What a lead *reached* is read from the transitions into each stage kind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from leads.models import Activity, ActivityType, StageKind, Transition, WebForm

# The steps of the funnel the form page follows its leads through, in order.
CONVERSION_KINDS = (StageKind.MQL, StageKind.SAL, StageKind.SQL, StageKind.WON)
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    submissions: int


@dataclass(frozen=True)
class ConversionStep:
    kind: str
    label: str
    leads: int
    share: float | None  # of the form's leads, 0 to 1; None when the form has no leads


def _submissions(form: WebForm) -> QuerySet[Activity]:
    return Activity.objects.filter(type=ActivityType.FORM_SUBMIT, metadata__form=form.key)


def submissions_per_day(*, form: WebForm, days: int = DEFAULT_DAYS) -> list[DayCount]:
    """Submissions on each of the last ``days`` days (today included, days without any as 0). One query."""
    today = timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    counts = dict(
        _submissions(form)
        .filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        DayCount(day=day, submissions=counts.get(day, 0))
        for day in (first + dt.timedelta(days=offset) for offset in range(days))
    ]


def form_lead_count(*, form: WebForm) -> int:
    return _submissions(form).values("lead_id").distinct().count()


def conversion(*, form: WebForm, leads: int) -> list[ConversionStep]:
    """How many of the form's ``leads`` ever entered an MQL, SAL, SQL and Won stage. One query."""
    form_leads = _submissions(form).values("lead_id")
    reached = dict(
        Transition.objects.filter(lead_id__in=form_leads, to_stage__kind__in=CONVERSION_KINDS)
        .values("to_stage__kind")
        .annotate(n=Count("lead_id", distinct=True))
        .values_list("to_stage__kind", "n")
    )
    return [
        ConversionStep(
            kind=kind.value,
            label=kind.label,
            leads=reached.get(kind.value, 0),
            share=round(reached.get(kind.value, 0) / leads, 4) if leads else None,
        )
        for kind in CONVERSION_KINDS
    ]
