"""The hand-off events' hand-written SQL (PostgreSQL): ``funnel.events.handoff_data`` built in the database.

Table names from ``_meta``; ``funnel.events`` passes it to ``leads.events.emit_lead_events_joined``.
"""

from __future__ import annotations

from core.webhooks_sql import isoformat_datetime
from funnel.models import Handoff, HandoffStatus
from leads.models import RejectReason

# Each lead's open hand-off ``h`` and its reject reason ``r`` (none while open, kept for the same shape).
OPEN_HANDOFF_JOINS = (
    f"JOIN {Handoff._meta.db_table} h ON h.lead_id = l.id AND h.status = '{HandoffStatus.OPEN.value}' "
    f"LEFT JOIN {RejectReason._meta.db_table} r ON r.id = h.reject_reason_id"
)
HANDOFF_JSON = (
    "'handoff', jsonb_build_object('id', h.id, 'rep', h.rep_id, 'status', h.status, "
    f"'assigned_at', {isoformat_datetime('h.assigned_at')}, "
    f"'sla_due_at', {isoformat_datetime('h.sla_due_at')}, "
    f"'breached_at', {isoformat_datetime('h.breached_at')}, 'reject_reason', r.slug, 'note', h.note)"
)
