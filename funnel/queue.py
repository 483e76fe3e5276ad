"""The hand-off queue page's rows: who sees which waiting hand-offs, filtered, one keyset page at a time.

A page is one indexed range scan (open hand-offs by deadline, or one rep's by deadline) with the lead, its
campaign and the rep joined in, so it costs the same at 50 waiting hand-offs as at 50,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.keyset import KeysetPage, paginate
from core.roles import is_manager
from funnel.models import Handoff, HandoffStatus

PAGE_SIZE = 50
UNASSIGNED = "unassigned"
BREACHED = "breached"


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


def waiting_handoffs(*, user: Any, show: QueueFilter, now: datetime) -> Any:
    """The open hand-offs ``user`` may work on: a rep's own; for managers, everyone's, as filtered."""
    waiting = (
        Handoff.objects.filter(status=HandoffStatus.OPEN)
        .select_related("lead", "lead__campaign", "rep")
        .defer("lead__attributes", "note")
    )
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


def queue_page(*, user: Any, show: QueueFilter, cursor: str | None, now: datetime) -> KeysetPage[Handoff]:
    """One page of the queue, oldest deadline first: one query."""
    return paginate(
        waiting_handoffs(user=user, show=show, now=now),
        key="sla_due_at",
        descending=False,
        cursor=cursor,
        page_size=PAGE_SIZE,
    )
