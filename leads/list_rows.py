"""The lead list's rows: one keyset page of leads as ready-to-print values (``LeadRow``).

The page's query reads only the columns the table shows (``ROW_FIELDS``), as named rows rather than model
instances (a lead, its owner, persona and campaign were four instances a row), and each row's cells (the
label, the stage's name, the owner's name, the dates in the current time zone, the link) are worked out here
once, so the template prints plain values and calls no method, filter or ``{% url %}`` per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.keyset import KeysetPage, paginate
from core.links import IdLinks
from core.roles import shown_name
from leads.models import Lead, lead_name

# What a row shows, and nothing else: the lead's other columns (the score's breakdown, attributes) stay in
# the table.
ROW_FIELDS = (
    "pk",
    "email",
    "first_name",
    "last_name",
    "company",
    "score",
    "grade",
    "stage",
    "created_at",
    "updated_at",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "persona__name",
    "campaign__name",
)


@dataclass(frozen=True)
class LeadRow:
    """One lead as the list shows it."""

    pk: int
    label: str  # the name, or the e-mail when the lead has none
    company: str
    email: str
    url: str
    score: int
    grade: str
    stage: str  # the stage's slug
    stage_name: str
    owner_name: str  # "" when nobody owns the lead
    persona_name: str  # "" when none
    campaign_name: str  # "" when none
    created_iso: str  # as the template filter date:"c", in the current time zone
    created_day: str  # as date:"Y-m-d"
    updated_iso: str
    updated_day: str


class _LocalTimes:
    """A moment as ISO 8601 and as its day, in the current time zone (looked up once per page)."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()

    def __call__(self, moment: datetime) -> tuple[str, str]:
        local = moment.astimezone(self.zone)
        return local.isoformat(), local.date().isoformat()


def lead_row(values: Any, *, stage_names: Mapping[str, str], links: IdLinks, times: _LocalTimes) -> LeadRow:
    """``values``: a named row of ``ROW_FIELDS``."""
    created_iso, created_day = times(values.created_at)
    updated_iso, updated_day = times(values.updated_at)
    owner_name = ""
    if values.owner__username is not None:
        owner_name = shown_name(
            first_name=values.owner__first_name,
            last_name=values.owner__last_name,
            username=values.owner__username,
        )
    return LeadRow(
        pk=values.pk,
        label=lead_name(first_name=values.first_name, last_name=values.last_name) or values.email,
        company=values.company,
        email=values.email,
        url=links(values.pk),
        score=values.score,
        grade=values.grade,
        stage=values.stage,
        stage_name=stage_names.get(values.stage, values.stage),
        owner_name=owner_name,
        persona_name=values.persona__name or "",
        campaign_name=values.campaign__name or "",
        created_iso=created_iso,
        created_day=created_day,
        updated_iso=updated_iso,
        updated_day=updated_day,
    )


def lead_rows_page(
    queryset: QuerySet[Lead],
    *,
    key: str,
    descending: bool,
    cursor: str | None,
    page_size: int,
    stage_names: Mapping[str, str],
) -> KeysetPage[LeadRow]:
    """One page of ``queryset`` (as ``core.keyset.paginate`` orders it) as rows: one query.

    ``key``: one of ``ROW_FIELDS`` (the cursors are read from the rows). ``stage_names``: stage slug to
    name (a slug missing from it shows as itself).
    """
    if key not in ROW_FIELDS:
        raise ValueError(f"the list cannot be ordered by {key!r}: not one of its columns")
    page = paginate(
        queryset.values_list(*ROW_FIELDS, named=True),
        key=key,
        descending=descending,
        cursor=cursor,
        page_size=page_size,
    )
    links, times = IdLinks("leads:detail"), _LocalTimes()
    rows = [lead_row(values, stage_names=stage_names, links=links, times=times) for values in page.rows]
    return KeysetPage(rows=rows, next_cursor=page.next_cursor, previous_cursor=page.previous_cursor)
