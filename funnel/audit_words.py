"""How the funnel's actions read in the audit trail (see ``core.audit_wording``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.audit_wording import action


def _late(data: Mapping[str, Any]) -> str:
    return " after the deadline" if data.get("late") else ""


def _rejected(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    note = data.get("note")
    return f"as “{data.get('reason') or '—'}”{_late(data)}" + (f": “{note}”" if note else "")


def _moved(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    text = f"from {data.get('from') or '—'} to {data.get('to') or '—'}"
    if data.get("amount"):
        text += f" ({data['amount']})"
    if data.get("reason"):
        text += f": “{data['reason']}”"
    return text


def _reassigned(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    why = {"sla-escalation": " after an SLA breach", "routing": " by routing"}.get(data.get("rule") or "", "")
    return f"from {name_of(data.get('from'))} to {name_of(data.get('to'))}{why}"


action(
    "lead.accepted",
    verb="accepted",
    details=lambda data, name_of: "the hand-off" + _late(data),
)
action("lead.rejected", verb="rejected", details=_rejected)
action("lead.moved", verb="moved", details=_moved)
action("lead.assigned", verb="assigned", details="from {from} to {to}", users=["from", "to"])
action("handoff.reassigned", verb="reassigned the hand-off of", details=_reassigned, users=["from", "to"])
