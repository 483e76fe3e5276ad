"""The CSV download of leads: the lead list's columns (``leads.fields.EXPORT_COLUMNS``), streamed."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from core.csv_export import csv_response
from leads.fields import EXPORT_COLUMNS
from leads.models import Lead


def leads_csv(
    queryset: QuerySet[Lead], *, column: str = "created_at", descending: bool = True
) -> StreamingHttpResponse:
    sign = "-" if descending else ""
    rows = (
        queryset.order_by(f"{sign}{column}", f"{sign}id")
        .values_list(*(source for _, source in EXPORT_COLUMNS))
        .iterator(chunk_size=2000)
    )
    return csv_response("leads.csv", [name for name, _ in EXPORT_COLUMNS], rows)
