"""The shared timeline of a lead: activities, stage moves and notes, newest first."""

from __future__ import annotations

import heapq
from itertools import islice
from typing import Any

from leads.models import Activity, Lead, Note, Transition

MAX_PAGE_SIZE = 200


def _who(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def lead_timeline(*, lead: Lead, offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], bool]:
    """One page of the timeline and whether more follows; three queries whatever the lead's history.

    Each source is read newest first up to the end of the page, and the three are merged by time.
    """
    end = offset + limit + 1
    activities = (
        {
            "type": "activity",
            "at": a.occurred_at,
            "id": a.pk,
            "kind": a.type,
            "summary": a.get_type_display(),
            "metadata": a.metadata,
        }
        for a in Activity.objects.filter(lead=lead).order_by("-occurred_at", "-id")[:end]
    )
    transitions = (
        {
            "type": "transition",
            "at": t.at,
            "id": t.pk,
            "from": t.from_stage.slug if t.from_stage else None,
            "to": t.to_stage.slug,
            "summary": f"{t.from_stage.name if t.from_stage else 'New'} → {t.to_stage.name}",
            "actor": t.actor_id,
            "actor_name": _who(t.actor) or (f"rule {t.rule}" if t.rule else "system"),
            "rule": t.rule,
            "reason": t.reason,
            "reject_reason": t.reject_reason.slug if t.reject_reason else None,
            "amount": str(t.amount) if t.amount is not None else None,
        }
        for t in Transition.objects.filter(lead=lead)
        .select_related("from_stage", "to_stage", "actor", "reject_reason")
        .order_by("-at", "-id")[:end]
    )
    notes = (
        {
            "type": "note",
            "at": n.created_at,
            "id": n.pk,
            "summary": n.body,
            "author": n.author_id,
            "author_name": _who(n.author),
        }
        for n in Note.objects.filter(lead=lead).select_related("author").order_by("-created_at", "-id")[:end]
    )
    merged = heapq.merge(activities, transitions, notes, key=lambda item: item["at"], reverse=True)
    page = list(islice(merged, offset, end))
    return page[:limit], len(page) > limit
