"""The funnel's section on the lead detail page: stage history, SLA state and the shared timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from funnel.models import Handoff, Transition
from funnel.moves import time_in_stages
from funnel.timeline import lead_timeline
from leads.models import Lead

TIMELINE_ITEMS = 30


def duration_text(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def funnel_panel(*, lead: Lead, user: Any) -> dict[str, Any]:
    now = timezone.now()
    transitions = list(
        Transition.objects.filter(lead=lead).select_related(
            "from_stage", "to_stage", "actor", "reject_reason"
        )
    )
    handoff = (
        Handoff.objects.filter(lead=lead)
        .select_related("rep", "reject_reason", "closed_by")
        .order_by("-assigned_at", "-pk")
        .first()
    )
    timeline, more = lead_timeline(lead=lead, limit=TIMELINE_ITEMS)
    stays = time_in_stages(transitions=transitions, now=now)
    for stay in stays:
        stay["duration_text"] = duration_text(stay["duration"])
    return {
        "template": "funnel/lead_panel.html",
        "context": {
            "lead": lead,
            "stays": list(reversed(stays)),
            "handoff": handoff,
            "overdue": bool(handoff and handoff.status == "open" and handoff.sla_due_at <= now),
            "timeline": timeline,
            "more": more,
        },
    }
