"""Webhook events about leads: the lead as receivers see it, emitted set-based into the outbox.

Nothing is read or written while no active endpoint subscribes to the event (``core.webhooks.subscribed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.webhooks import emit_many, emit_selected, subscribed
from core.webhooks_sql import set_based
from leads import events_sql
from leads.models import Lead

# What every lead event carries about the lead.
LEAD_DATA_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "company",
    "country",
    "external_id",
    "score",
    "grade",
    "stage",
    "owner",
    "sla_due_at",
)


def lead_data(*, lead_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``{id: {field: value}}`` of the leads (one query); the stage as its slug, the owner as a user id."""
    columns = {
        name: ("stage_id" if name == "stage" else "owner_id" if name == "owner" else name)
        for name in LEAD_DATA_FIELDS
    }
    rows = Lead.objects.filter(pk__in=list(lead_ids)).values(*columns.values())
    return {row["id"]: {name: row[column] for name, column in columns.items()} for row in rows}


def emit_lead_events(
    *, event: str, lead_ids: Sequence[int], extra: Mapping[int, Mapping[str, Any]] | None = None
) -> int:
    """One ``event`` per lead: ``{"lead": {...}, **extra[lead_id]}``. Call inside the change's transaction."""
    if not lead_ids or not subscribed(event):
        return 0
    if set_based() and extra is None:
        return emit_lead_events_joined(event=event, lead_ids=lead_ids)
    leads = lead_data(lead_ids=lead_ids)
    extra = extra or {}
    return emit_many(
        event=event,
        items=[{"lead": leads[pk], **extra.get(pk, {})} for pk in lead_ids if pk in leads],
    )


def emit_lead_events_joined(
    *,
    event: str,
    lead_ids: Sequence[int],
    refs: Sequence[int | None] | None = None,
    extra: str = "",
    extra_params: Sequence[Any] = (),
    joins: str = "",
) -> int:
    """``emit_lead_events`` written in one statement on PostgreSQL, the extra data built in SQL too (see
    ``leads.events_sql.lead_events_select``). Call inside the change's transaction, only where
    ``core.webhooks_sql.set_based()``."""
    if not lead_ids:
        return 0
    data_sql, params = events_sql.lead_events_select(
        fields=LEAD_DATA_FIELDS,
        lead_ids=lead_ids,
        refs=refs,
        extra=extra,
        extra_params=extra_params,
        joins=joins,
    )
    return emit_selected(event=event, data_sql=data_sql, params=params)
