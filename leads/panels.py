"""Sections that higher apps add to the lead detail page, without the leads app importing them.

A higher app registers a function in its ``AppConfig.ready()``; the function gets the lead and the user and
returns ``{"template": "...", "context": {...}}`` (or ``None`` to show nothing). The page includes each
template with ``panel`` bound to that dict, in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leads.models import Lead

LeadPanel = Callable[..., dict[str, Any] | None]
_panels: list[LeadPanel] = []


def register_lead_panel(panel: LeadPanel) -> LeadPanel:
    if panel not in _panels:
        _panels.append(panel)
    return panel


def lead_panels(*, lead: Lead, user: Any) -> list[dict[str, Any]]:
    return [p for p in (panel(lead=lead, user=user) for panel in _panels) if p is not None]
