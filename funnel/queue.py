"""The hand-off queue page's rows: who sees which waiting hand-offs, filtered, one keyset page at a time.

A page costs two small queries whatever the size of the queue: the keyset scan picks the page's 50
hand-offs from an index on (deadline, id) reading two narrow columns, then those 50 are loaded with their
lead, campaign and rep. Each row's display values (names, the breakdown summary, the deadline's text, its
links) are worked out here once, so the template prints plain values and does no lookups per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dates import MONTHS_3

from core.keyset import KeysetPage, paginate
from core.links import IdLinks
from core.roles import is_manager, shown_name
from funnel.models import Handoff, HandoffStatus
from leads.models import lead_name

PAGE_SIZE = 50
UNASSIGNED = "unassigned"
BREACHED = "breached"
SUMMARY_RULES = 3

# What a row shows, read as plain values (no model instances): the lead's other columns stay in the table.
ROW_COLUMNS = (
    "id",
    "lead_id",
    "rep_id",
    "sla_due_at",
    "breached_at",
    "lead__email",
    "lead__first_name",
    "lead__last_name",
    "lead__job_title",
    "lead__company",
    "lead__score",
    "lead__grade",
    "lead__score_breakdown",
    "lead__campaign__name",
    "rep__username",
    "rep__first_name",
    "rep__last_name",
)


@dataclass(frozen=True)
class QueueFilter:
    """``rep``: "" (everyone), a rep's id as text, "unassigned" or "breached"; ``overdue``: past deadline."""

    rep: str = ""
    overdue: bool = False

    @classmethod
    def from_query(cls, query: Any) -> QueueFilter:
        rep = query.get("rep", "")
        if not (rep in (UNASSIGNED, BREACHED) or (rep.isascii() and rep.isdigit() and len(rep) <= 12)):
            rep = ""
        return cls(rep=rep, overdue=query.get("overdue", "") in ("1", "on", "true"))


@dataclass(frozen=True)
class QueueRow:
    """One waiting hand-off as the queue shows it."""

    pk: int
    lead_id: int
    rep_id: int | None
    lead_name: str  # the name, or the e-mail when the lead has none
    lead_context: str  # "VP Sales · Acme · Spring webinar"
    score: int
    grade: str
    summary: str  # the strongest rules of the score's breakdown
    rep_name: str  # "" when unassigned
    lead_url: str
    accept_url: str
    reject_url: str
    due_iso: str
    due_text: str
    overdue: bool
    breached: bool


def breakdown_summary(breakdown: Any, limit: int = SUMMARY_RULES) -> str:
    """The ``limit`` rules that weigh most in a score's breakdown: "VP title +30, Pricing page +12"."""
    lines = [line for line in (breakdown or []) if isinstance(line, dict)]
    lines.sort(key=lambda line: -abs(int(line.get("points", 0) or 0)))
    return ", ".join(
        f"{line.get('rule', '?')} {int(line.get('points', 0) or 0):+d}" for line in lines[:limit]
    )


def waiting_handoffs(*, user: Any, show: QueueFilter, now: datetime) -> QuerySet[Handoff]:
    """The open hand-offs ``user`` may work on: a rep's own; for managers, everyone's, as filtered."""
    waiting = Handoff.objects.filter(status=HandoffStatus.OPEN)
    if not is_manager(user):
        waiting = waiting.filter(rep=user)
    elif show.rep == UNASSIGNED:
        waiting = waiting.filter(rep=None)
    elif show.rep == BREACHED:
        waiting = waiting.exclude(breached_at=None)
    elif show.rep:
        waiting = waiting.filter(rep_id=int(show.rep))
    if show.overdue:
        waiting = waiting.filter(sla_due_at__lte=now)
    return waiting


class _DeadlineText:
    """Deadlines as "Dec 2, 14:30" in the current time zone, like the template filter ``date:"M j, H:i"``,
    with the month names translated once per page rather than once per row."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.months: dict[int, str] = {}

    def __call__(self, moment: datetime) -> tuple[str, str]:
        local = moment.astimezone(self.zone)
        month = self.months.get(local.month)
        if month is None:
            month = self.months[local.month] = str(MONTHS_3[local.month]).title()
        return local.isoformat(), f"{month} {local.day}, {local:%H:%M}"


@dataclass(frozen=True)
class _Links:
    """A row's links, each URL pattern reversed once per page."""

    lead: IdLinks
    accept: IdLinks
    reject: IdLinks

    @classmethod
    def for_page(cls) -> _Links:
        return cls(IdLinks("leads:detail"), IdLinks("funnel:accept"), IdLinks("funnel:reject"))


def _row(values: tuple[Any, ...], *, now: datetime, deadline: _DeadlineText, links: _Links) -> QueueRow:
    (pk, lead_id, rep_id, due, breached_at, email, first_name, last_name, job_title, company, score, grade,
     breakdown, campaign, rep_username, rep_first_name, rep_last_name) = values  # fmt: skip
    context = " · ".join(part for part in (job_title, company) if part)
    if campaign is not None:
        context = f"{context} · {campaign}"
    due_iso, due_text = deadline(due)
    return QueueRow(
        pk=pk,
        lead_id=lead_id,
        rep_id=rep_id,
        lead_name=lead_name(first_name=first_name, last_name=last_name) or email,
        lead_context=context,
        score=score,
        grade=grade,
        summary=breakdown_summary(breakdown),
        rep_name=(
            shown_name(first_name=rep_first_name, last_name=rep_last_name, username=rep_username)
            if rep_id is not None
            else ""
        ),
        lead_url=links.lead(lead_id),
        accept_url=links.accept(lead_id),
        reject_url=links.reject(lead_id),
        due_iso=due_iso,
        due_text=due_text,
        overdue=due <= now,
        breached=breached_at is not None,
    )


def queue_page(*, user: Any, show: QueueFilter, cursor: str | None, now: datetime) -> KeysetPage[QueueRow]:
    """One page of the queue, oldest deadline first: the keyset scan, then the page's rows in full.

    TRICKY: the scan reads only the key columns, so it never joins (or sorts) more than the page even when
    the planner misjudges how many hand-offs are open; joining first and limiting after the sort made the
    page cost grow with the queue whenever the table's statistics were stale.
    """
    keys = paginate(
        waiting_handoffs(user=user, show=show, now=now).only("id", "sla_due_at"),
        key="sla_due_at",
        descending=False,
        cursor=cursor,
        page_size=PAGE_SIZE,
    )
    loaded = {
        values[0]: values
        for values in Handoff.objects.filter(pk__in=[key.pk for key in keys.rows])
        .order_by()
        .values_list(*ROW_COLUMNS)
    }
    deadline, links = _DeadlineText(), _Links.for_page()
    rows = [
        _row(loaded[key.pk], now=now, deadline=deadline, links=links) for key in keys.rows if key.pk in loaded
    ]
    return KeysetPage(rows=rows, next_cursor=keys.next_cursor, previous_cursor=keys.previous_cursor)
