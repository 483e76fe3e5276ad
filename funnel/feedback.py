"""Sales' feedback to marketing: why hand-offs were rejected and why deals were lost, by campaign and by
persona."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from funnel.models import Handoff, HandoffStatus
from funnel.routing import sales_reps
from leads.models import LostReason, RejectReason, Transition


@dataclass
class PivotRow:
    label: str
    slug: str
    counts: list[int]
    total: int


@dataclass
class Pivot:
    """Rejections (or lost deals): one row per reason, one column per campaign (or persona)."""

    dimension: str
    columns: list[tuple[str, str]]  # (slug, label)
    rows: list[PivotRow]
    column_totals: list[int]
    total: int


def _pivot(dimension: str) -> Pivot:
    """Rejected hand-offs by reject reason and ``dimension``."""
    slug_field, name_field = f"lead__{dimension}__slug", f"lead__{dimension}__name"
    counts = (
        Handoff.objects.filter(status=HandoffStatus.REJECTED)
        .values("reject_reason__slug", slug_field, name_field)
        .annotate(n=Count("id"))
        .order_by()
    )
    reasons = list(RejectReason.objects.values_list("slug", "label"))
    return _pivot_of(dimension, counts, reason_field="reject_reason__slug", reasons=reasons)


def _lost_pivot(dimension: str) -> Pivot:
    """Leads lost by lost reason and ``dimension`` (a lead lost twice for one reason counts once)."""
    slug_field, name_field = f"lead__{dimension}__slug", f"lead__{dimension}__name"
    counts = (
        Transition.objects.filter(lost_reason__isnull=False)
        .values("lost_reason__slug", slug_field, name_field)
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    reasons = list(LostReason.objects.values_list("slug", "label"))
    return _pivot_of(dimension, counts, reason_field="lost_reason__slug", reasons=reasons)


def _pivot_of(dimension: str, counts: Any, *, reason_field: str, reasons: list[tuple[str, str]]) -> Pivot:
    slug_field, name_field = f"lead__{dimension}__slug", f"lead__{dimension}__name"
    cells: dict[tuple[str, str], int] = {}
    columns: dict[str, str] = {}
    for row in counts:
        column = row[slug_field] or ""
        columns[column] = row[name_field] or f"(no {dimension})"
        key = (row[reason_field] or "", column)
        cells[key] = cells.get(key, 0) + row["n"]
    ordered = sorted(columns.items(), key=lambda item: (item[0] == "", item[1].lower()))
    rows = []
    for slug, label in reasons:
        values = [cells.get((slug, column), 0) for column, _ in ordered]
        if sum(values):
            rows.append(PivotRow(label=label, slug=slug, counts=values, total=sum(values)))
    totals = [sum(r.counts[i] for r in rows) for i in range(len(ordered))]
    return Pivot(dimension=dimension, columns=ordered, rows=rows, column_totals=totals, total=sum(totals))


def rejection_tables() -> dict[str, Pivot]:
    return {"campaign": _pivot("campaign"), "persona": _pivot("persona")}


def lost_tables() -> dict[str, Pivot]:
    return {"campaign": _lost_pivot("campaign"), "persona": _lost_pivot("persona")}


def rejected_handoffs() -> Any:
    return (
        Handoff.objects.filter(status=HandoffStatus.REJECTED)
        .select_related("lead", "lead__campaign", "lead__persona", "reject_reason", "closed_by")
        .order_by("-closed_at", "-pk")
    )


def rejected_rows(*, limit: int | None) -> Iterator[list[Any]] | list[Any]:
    queryset = rejected_handoffs()
    if limit is not None:
        return list(queryset[:limit])
    return (
        [
            h.closed_at.isoformat() if h.closed_at else "",
            h.lead.name,
            h.lead.email,
            h.lead.company,
            h.lead.campaign.name if h.lead.campaign else "",
            h.lead.persona.name if h.lead.persona else "",
            h.reject_reason.label if h.reject_reason else "",
            h.note,
            (h.closed_by.get_full_name() or h.closed_by.username) if h.closed_by else "",
        ]
        for h in queryset.iterator(chunk_size=2000)
    )


def queue_summary() -> dict[str, Any]:
    """For managers: open hand-offs and breaches per rep, and the unassigned queue."""
    now = timezone.now()
    per_rep = dict(
        (row["rep_id"], row)
        for row in Handoff.objects.filter(status=HandoffStatus.OPEN)
        .values("rep_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(sla_due_at__lte=now)))
        .order_by()
    )
    reps = [
        {
            "rep": rep,
            "open": per_rep.get(rep.pk, {}).get("open", 0),
            "overdue": per_rep.get(rep.pk, {}).get("overdue", 0),
        }
        for rep in sales_reps().order_by("first_name", "username")
    ]
    unassigned = per_rep.get(None, {"open": 0, "overdue": 0})
    return {"reps": reps, "unassigned": unassigned["open"], "unassigned_overdue": unassigned["overdue"]}
