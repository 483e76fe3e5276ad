"""The lead list: search, filters, sorting, keyset pages, CSV. (One lead's page is ``funnel.lead_page``.)"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from core.csv_export import csv_response, wants_csv
from core.keyset import paginate
from core.pages import role_required
from core.roles import MANAGERS, SALES
from leads.fields import EXPORT_COLUMNS
from leads.filters import LeadFilter
from leads.models import Campaign, Grade, Lead, Persona, Stage
from leads.selectors import leads_visible_to

PAGE_SIZE = 50
RECENT_NOTES = 20

# ?ordering= value → (label, column, descending). Each column has an index on (column, id).
ORDERINGS: dict[str, tuple[str, str, bool]] = {
    "-created_at": ("Newest first", "created_at", True),
    "created_at": ("Oldest first", "created_at", False),
    "-score": ("Highest score", "score", True),
    "score": ("Lowest score", "score", False),
    "-updated_at": ("Recently updated", "updated_at", True),
    "updated_at": ("Least recently updated", "updated_at", False),
}
DEFAULT_ORDERING = "-created_at"


def _filter_options(stages: list[tuple[str, str]]) -> dict[str, Any]:
    """The choices of the filter form: a few small tables, one query each, whatever the number of leads."""
    owners = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[SALES, MANAGERS])
        .distinct()
        .order_by("first_name", "last_name", "username")
        .only("id", "username", "first_name", "last_name")
    )
    return {
        "stages": stages,
        "owners": list(owners),
        "personas": list(Persona.objects.only("slug", "name")),
        "campaigns": list(Campaign.objects.only("slug", "name")),
        "grades": Grade.values,
        "orderings": [(value, label) for value, (label, _, _) in ORDERINGS.items()],
    }


def _leads_csv(queryset: QuerySet[Lead], ordering: str) -> HttpResponse:
    _, column, descending = ORDERINGS[ordering]
    sign = "-" if descending else ""
    rows = (
        queryset.order_by(f"{sign}{column}", f"{sign}id")
        .values_list(*(source for _, source in EXPORT_COLUMNS))
        .iterator(chunk_size=2000)
    )
    return csv_response("leads.csv", [name for name, _ in EXPORT_COLUMNS], rows)


@role_required()
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    """Search and filter the shared pipeline; the htmx form swaps only the results, the URL works alone."""
    lead_filter = LeadFilter(request.GET, queryset=leads_visible_to(request.user))
    ordering = request.GET.get("ordering", DEFAULT_ORDERING)
    if ordering not in ORDERINGS:
        ordering = DEFAULT_ORDERING
    valid = lead_filter.is_valid()
    if valid and wants_csv(request):
        return _leads_csv(lead_filter.qs, ordering)

    page = None
    if valid:
        _, column, descending = ORDERINGS[ordering]
        page = paginate(
            lead_filter.qs,
            key=column,
            descending=descending,
            cursor=request.GET.get("cursor"),
            page_size=PAGE_SIZE,
        )
    stages = list(Stage.objects.values_list("slug", "name"))
    stage_names = dict(stages)
    leads = page.rows if page else []
    for lead in leads:
        lead.stage_name = stage_names.get(lead.stage_id, lead.stage_id)
    context = {
        "errors": lead_filter.errors,
        "page": page,
        "leads": leads,
        "ordering": ordering,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    if partial:
        response = render(request, "leads/_results.html", context)
    else:
        context.update(_filter_options(stages))
        response = render(request, "leads/list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
