"""The lead list: search, filters, sorting, a total, keyset pages, CSV, saved views. (One lead's page is
``funnel.lead_page``; its bulk actions are ``funnel.lead_bulk``.)"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from core.csv_export import wants_csv
from core.errors import AppError
from core.pages import role_required, show_error
from core.roles import MANAGERS, SALES, is_manager
from leads.export import leads_csv
from leads.filters import LeadListFilter
from leads.list_rows import lead_rows_page
from leads.list_sql import LeadCount, count_listed
from leads.models import Campaign, Grade, Lead, Persona, Source, Stage
from leads.saved_views import delete_view, filter_query, save_view, saved_views_of
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
        "sources": Source.choices,
        "orderings": [(value, label) for value, (label, _, _) in ORDERINGS.items()],
    }


def _leads_csv(queryset: QuerySet[Lead], ordering: str) -> HttpResponse:
    _, column, descending = ORDERINGS[ordering]
    return leads_csv(queryset, column=column, descending=descending)


# Columns whose header sorts the list: each has an index on (column, id).
SORTABLE = ("score", "created_at", "updated_at")


def _sort_headers(ordering: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the ``aria-sort`` it has now and the ordering its header link asks for.

    A click sorts a column descending first (highest score, newest), a second click ascending.
    """
    headers = {}
    for column in SORTABLE:
        if ordering == f"-{column}":
            headers[column] = {"aria": "descending", "next": column}
        elif ordering == column:
            headers[column] = {"aria": "ascending", "next": f"-{column}"}
        else:
            headers[column] = {"aria": "none", "next": f"-{column}"}
    return headers


def count_text(count: LeadCount) -> str:
    """ "1,234 leads", "about 1.2 M leads", or "more than 10,000 leads" where no estimate exists."""
    if count.exact:
        return f"{count.value:,} lead{'' if count.value == 1 else 's'}"
    if not count.estimated:
        return f"more than {count.value:,} leads"
    if count.value >= 1_000_000:
        return f"about {count.value / 1_000_000:.1f} M leads"
    # Two significant digits at most (an estimate is no more precise than that).
    rounded = round(count.value, -max(0, len(str(count.value)) - 2))
    return f"about {rounded:,} lead{'' if rounded == 1 else 's'}"


def _filter_errors(lead_filter: LeadListFilter, ordering: str | None) -> list[tuple[str, str]]:
    """(label, message) of every filter value the list cannot use."""
    errors = [
        (FILTER_LABELS.get(name, name), " ".join(messages))
        for name, messages in lead_filter.errors.items()
        if name != "__all__"
    ]
    errors += [("Filters", " ".join(messages)) for messages in lead_filter.errors.get("__all__", [])]
    if ordering is not None and ordering not in ORDERINGS:
        errors.append(("Sort by", "Sort by score, created or updated date."))
    return errors


FILTER_LABELS = {
    "search": "Search",
    "stage": "Stage",
    "owner": "Owner",
    "persona": "Persona",
    "campaign": "Campaign",
    "grade": "Grade",
    "source": "Source",
    "min_score": "Minimum score",
    "max_score": "Maximum score",
    "updated_since": "Updated since",
    "created_from": "Created from",
    "created_to": "Created to",
    "updated_from": "Updated from",
    "updated_to": "Updated to",
}


def _reps() -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=SALES)
        .order_by("first_name", "last_name", "username")
        .only("id", "username", "first_name", "last_name")
    )


@role_required()
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    """Search and filter the shared pipeline; the htmx form swaps only the results, the URL works alone.

    A filter value the list cannot use is listed as an error above the results (and no rows show), never
    silently dropped.
    """
    lead_filter = LeadListFilter(request.GET, queryset=leads_visible_to(request.user))
    asked = request.GET.get("ordering")
    ordering = asked if asked in ORDERINGS else DEFAULT_ORDERING
    errors = _filter_errors(lead_filter, asked)
    valid = not errors
    if valid and wants_csv(request):
        return _leads_csv(lead_filter.qs, ordering)

    page = None
    total = ""
    stages = list(Stage.objects.values_list("slug", "name"))
    if valid:
        _, column, descending = ORDERINGS[ordering]
        page = lead_rows_page(
            lead_filter.qs,
            key=column,
            descending=descending,
            cursor=request.GET.get("cursor"),
            page_size=PAGE_SIZE,
            stage_names=dict(stages),
        )
        total = count_text(count_listed(lead_filter.qs, page))
    leads = page.rows if page else []
    manager = is_manager(request.user)
    context = {
        "errors": errors,
        "page": page,
        "leads": leads,
        "total": total,
        "ordering": ordering,
        "sorts": _sort_headers(ordering),
        "manager": manager,
        "reps": _reps() if manager and leads else [],
        "filter_query": filter_query(request.GET.urlencode()),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    if partial:
        response = render(request, "leads/_results.html", context)
    else:
        context.update(_filter_options(stages))
        context["saved_views"] = list(saved_views_of(request.user))
        response = render(request, "leads/list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _back_to_list(request: HttpRequest, query: str) -> HttpResponse:
    url = reverse("leads:list")
    return redirect(f"{url}?{query}" if query else url)


@role_required()
@require_POST
def save_view_page(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        view = save_view(user=request.user, name=request.POST.get("name", ""), query=query)
    except AppError as exc:
        show_error(request, exc)
        return _back_to_list(request, filter_query(query))
    messages.success(request, f"View “{view.name}” saved.")
    return _back_to_list(request, view.query)


@role_required()
@require_POST
def delete_view_page(request: HttpRequest, view_id: int) -> HttpResponse:
    delete_view(user=request.user, view_id=view_id)
    messages.success(request, "View deleted.")
    return redirect("leads:list")
