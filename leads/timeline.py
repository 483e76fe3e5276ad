"""The shared timeline of a lead: activities, stage moves, notes and field changes, newest first, in keyset
pages."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from django.db.models import Q

from core.keyset import BACKWARD, FORWARD, Cursor, decode_cursor, encode_cursor, invalid_cursor
from leads.fields import LEAD_FIELDS
from leads.models import Activity, Lead, LeadChange, Note, Transition

MAX_PAGE_SIZE = 200
# The item types, which order items of the same time (newest first: transition, note, change, activity).
TYPES = ("activity", "change", "note", "transition")


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


@dataclass(frozen=True)
class TimelinePage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    previous_cursor: str | None


def _position(token: str | None) -> Cursor | None:
    """The timeline position in a cursor; ``ValidationProblem`` for a forged or foreign one."""
    if token is None:
        return None
    position = decode_cursor(token)
    if position is None or not isinstance(position.value, tuple) or len(position.value) != 2:
        raise invalid_cursor()
    at, kind = position.value
    if not isinstance(at, datetime) or kind not in TYPES:
        raise invalid_cursor()
    return position


def _beyond(time_field: str, kind: str, position: Cursor | None, *, backward: bool) -> Q:
    """Rows of one source past the position in the order (time, type, id), newest first.

    The type is one value per source, so comparing it decides whether rows at the position's very time
    come after it (then the id decides, for rows of the position's own source).
    """
    if position is None:
        return Q()
    at, position_kind = position.value
    op = "gt" if backward else "lt"
    ties_follow = kind > position_kind if backward else kind < position_kind
    if kind == position_kind:
        return Q(**{f"{time_field}__{op}e": at}) & (
            Q(**{f"{time_field}__{op}": at}) | Q(**{f"id__{op}": position.id})
        )
    return Q(**{f"{time_field}__{op}{'e' if ties_follow else ''}": at})


def lead_timeline(*, lead: Lead, cursor: str | None = None, limit: int = 50) -> TimelinePage:
    """One page of the timeline, keyset-paginated in the order (time, type, id), newest first.

    Four queries whatever the lead's history and the page's depth: each source is read from the cursor's
    position up to one row past the page, and the four are merged.
    """
    position = _position(cursor)
    backward = position is not None and position.direction == BACKWARD
    sign = "" if backward else "-"
    end = limit + 1

    def rows(queryset: Any, time_field: str, kind: str) -> Any:
        queryset = queryset.filter(_beyond(time_field, kind, position, backward=backward))
        return queryset.order_by(f"{sign}{time_field}", f"{sign}id")[:end]

    activities = (
        {
            "type": "activity",
            "at": a.occurred_at,
            "id": a.pk,
            "kind": a.type,
            "summary": a.get_type_display(),
            "metadata": a.metadata,
        }
        for a in rows(Activity.objects.filter(lead=lead), "occurred_at", "activity")
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
            "lost_reason": t.lost_reason.slug if t.lost_reason else None,
            "amount": str(t.amount) if t.amount is not None else None,
        }
        for t in rows(
            Transition.objects.filter(lead=lead).select_related(
                "from_stage", "to_stage", "actor", "reject_reason", "lost_reason"
            ),
            "at",
            "transition",
        )
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
        for n in rows(Note.objects.filter(lead=lead).select_related("author"), "created_at", "note")
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
        for c in rows(LeadChange.objects.filter(lead=lead).select_related("actor"), "at", "change")
    )
    merged = heapq.merge(activities, transitions, notes, changes, key=_order_key, reverse=not backward)
    items = list(islice(merged, end))
    has_more = len(items) > limit
    items = items[:limit]
    if backward:
        items.reverse()

    def cursor_at(item: dict[str, Any], direction: str) -> str:
        return encode_cursor(Cursor(value=(item["at"], item["type"]), id=item["id"], direction=direction))

    has_next = has_more if not backward else True
    has_previous = position is not None and (has_more if backward else True)
    return TimelinePage(
        items=items,
        next_cursor=cursor_at(items[-1], FORWARD) if items and has_next else None,
        previous_cursor=cursor_at(items[0], BACKWARD) if items and has_previous else None,
    )


def _order_key(item: dict[str, Any]) -> tuple[datetime, str, int]:
    return (item["at"], item["type"], item["id"])
