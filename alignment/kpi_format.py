"""KPI values as the pages write them: ``42 %``, ``6.0 h``, ``12,000``, ``—`` for a value not computed."""

from __future__ import annotations

from typing import Any

from alignment.kpi_definitions import KPIS, Kpi
from core.charts import Formatter


def format_value(kpi: Kpi | str, value: Any) -> str:
    kpi = KPIS[kpi] if isinstance(kpi, str) else kpi
    if value is None:
        return "—"
    if kpi.unit == "share":
        return f"{float(value) * 100:.0f} %"
    if kpi.unit == "hours":
        return f"{float(value):.1f} h"
    if kpi.unit == "days":
        return f"{float(value):.1f} d"
    if kpi.unit == "amount":
        return f"{float(value):,.0f}"
    if kpi.unit == "leads by reason":
        if not value:
            return "none"
        top, count = max(value.items(), key=lambda item: (item[1], item[0]))
        return f"{sum(value.values()):,} leads; most often {top} ({count:,})"
    return f"{int(value):,}"


def unit_label(kpi: Kpi) -> str:
    return {
        "share": "%",
        "hours": "hours",
        "days": "days",
        "amount": "currency units",
        "points": "points",
    }.get(kpi.unit, "leads")


def formatter(key: str) -> Formatter:
    """How a chart writes the values of KPI ``key`` (ticks, labels, tooltips)."""
    return lambda value: format_value(key, value)
