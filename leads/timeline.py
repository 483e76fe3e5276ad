"""The shared timeline of a lead: activities, stage moves, notes and field changes, newest first."""

from __future__ import annotations

import heapq
from itertools import islice
from typing import Any

from leads.fields import LEAD_FIELDS
from leads.models import Activity, Lead, LeadChange, Note, Transition

MAX_PAGE_SIZE = 200


def _who(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def change_summary(changes: dict[str, Any]) -> str:
    """``Job title: CTO → CEO; Country: — → DE``: what an edit changed, for people."""
    parts = []
    for name, change in changes.items():
        label = LEAD_FIELDS[name].label if name in LEAD_FIELDS else name
        parts.append(f"{label}: {_value_text(change.get('from'))} → {_value_text(change.get('to'))}")
    return "; ".join(parts)


def lead_timeline(*, lead: Lead, offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], bool]:
    """One page of the timeline and whether more follows; four queries whatever the lead's history.

    Each source is read newest first up to the end of the page, and the four are merged by time.
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
    changes = (
        {
            "type": "change",
            "at": c.at,
            "id": c.pk,
            "summary": change_summary(c.changes),
            "actor": c.actor_id,
            "actor_name": _who(c.actor) or "system",
            "changes": [
                {"field": name, "from": change.get("from"), "to": change.get("to")}
                for name, change in c.changes.items()
            ],
        }
        for c in LeadChange.objects.filter(lead=lead).select_related("actor").order_by("-at", "-id")[:end]
    )
    merged = heapq.merge(activities, transitions, notes, changes, key=lambda item: item["at"], reverse=True)
    page = list(islice(merged, offset, end))
    return page[:limit], len(page) > limit
