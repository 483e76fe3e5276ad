"""KPI values as the pages write them: ``42 %``, ``6.0 h``, ``12,000``, ``—`` for a value not computed."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
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


_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000, "mn": 1_000_000, "bn": 1_000_000_000}
_TARGET = re.compile(r"^(?P<number>[0-9][0-9,]*(?:\.[0-9]+)?)\s*(?P<suffix>k|m|mn|bn)?$", re.IGNORECASE)


def format_target(kpi: Kpi | str, value: Any) -> str:
    """A goal's number as a person writes it: ``80 %``, ``€ 1.8 M``, ``€ 250 k``, ``1,200`` leads."""
    kpi = KPIS[kpi] if isinstance(kpi, str) else kpi
    if value is None or kpi.unit != "amount":
        return format_value(kpi, value)
    amount = float(value)
    for size, suffix in ((1_000_000_000, "bn"), (1_000_000, "M"), (10_000, "k")):
        if abs(amount) >= size:
            scale = 1_000 if suffix == "k" else size
            return f"€ {amount / scale:,.1f}".rstrip("0").rstrip(".") + f" {suffix}"
    return f"€ {amount:,.0f}"


def parse_target(text: str, *, kpi: Kpi | str) -> Decimal:
    """A target typed as a person writes it, in the KPI's unit: a rate in percent (``80`` or ``80 %``),
    an amount with an optional ``€`` and ``k``/``M`` (``1.8 M``), a count. Raises ``ValueError``."""
    kpi = KPIS[kpi] if isinstance(kpi, str) else kpi
    cleaned = text.strip().replace("€", "").replace("%", "").replace("\u00a0", " ").strip()
    match = _TARGET.match(cleaned)
    if match is None:
        raise ValueError("Write a number, such as 80 (for 80 %), 1.8 M or 1,200.")
    try:
        number = Decimal(match["number"].replace(",", ""))
    except InvalidOperation:
        raise ValueError("Write a number, such as 80 (for 80 %), 1.8 M or 1,200.") from None
    number *= _SUFFIXES[(match["suffix"] or "").lower()]
    if kpi.unit == "share":
        if number > 100:
            raise ValueError("A rate is a percentage from 0 to 100.")
        return number / 100
    return number


def target_input(kpi: Kpi | str, value: Any) -> str:
    """How the goal form shows a stored target for editing: a rate in percent, other numbers plain."""
    kpi = KPIS[kpi] if isinstance(kpi, str) else kpi
    number = Decimal(value) * 100 if kpi.unit == "share" else Decimal(value)
    return f"{number.normalize():f}"


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
