"""How the goals' and KPIs' actions read in the audit trail (see ``core.audit_wording``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.audit_wording import action, object_kind

object_kind("alignment.goal", noun="goal", url_name="goal-edit")


def _changes(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    parts = []
    for name, change in data.items():
        if isinstance(change, list | tuple) and len(change) == 2:
            parts.append(f"{name} {change[0] or '—'} → {change[1] or '—'}")
    return "; ".join(parts)


def _target(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    return f"{data.get('metric', '—')}, target {data.get('target', '—')} for {data.get('period', '—')}"


action("goal.created", verb="created", details=_target)
action("goal.updated", verb="changed", details=_changes)
action("goal.deleted", verb="deleted", details=_target)
action("kpis.refresh_requested", verb="asked to recompute the KPIs", details="for {periods}")
