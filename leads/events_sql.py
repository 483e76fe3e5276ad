"""The lead events' hand-written SQL (PostgreSQL): the lead as webhook receivers see it, built in SQL.

``lead_events_select`` gives ``core.webhooks.emit_selected`` one row per lead, so a promotion batch's events
are written in one statement instead of read into Python and written back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from core.webhooks_sql import django_json_datetime
from leads.models import Lead
from leads.pipeline_sql import array_literal


def _lead_json(fields: Sequence[str]) -> str:
    """``jsonb_build_object`` of the lead ``l`` with these fields, valued as ``leads.events.lead_data``."""
    pairs = []
    for name in fields:
        field = Lead._meta.get_field(name)
        column = f"l.{field.column}"  # type: ignore[union-attr]
        value = django_json_datetime(column) if isinstance(field, models.DateTimeField) else column
        pairs.append(f"'{name}', {value}")
    return f"jsonb_build_object({', '.join(pairs)})"


def lead_events_select(
    *,
    fields: Sequence[str],
    lead_ids: Sequence[int],
    refs: Sequence[int | None] | None = None,
    extra: str = "",
    extra_params: Sequence[Any] = (),
    joins: str = "",
) -> tuple[str, list[Any]]:
    """A SELECT of ``{"lead": {...}, <extra>}`` per lead, in the order of ``lead_ids``.

    ``extra``: more ``'key', value`` pairs of the object (``%s`` for ``extra_params``), which may read ``l``
    (the lead), ``v.ref`` (this lead's entry of ``refs``) and the tables of ``joins``.
    """
    more = f", {extra}" if extra else ""
    sql = (
        f"SELECT jsonb_build_object('lead', {_lead_json(fields)}{more}) "
        "FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS v(id, ref, n) "
        f"JOIN {Lead._meta.db_table} l ON l.id = v.id {joins} ORDER BY v.n"
    )
    refs = list(refs) if refs is not None else [None] * len(lead_ids)
    return sql, [*extra_params, array_literal(lead_ids), array_literal(refs)]
