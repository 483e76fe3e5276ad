"""Lead pages: the list (search, filters, sorting, keyset pages, CSV) and one lead's profile."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from django_countries import countries

from core.csv_export import csv_response, wants_csv
from core.keyset import paginate
from core.pages import role_required
from core.roles import MANAGERS, SALES
from leads.filters import LeadFilter
from leads.models import Campaign, Grade, Lead, Note, Persona
from leads.notes import add_note
from leads.panels import lead_panels
from leads.selectors import get_lead_for, leads_visible_to
from leads.stages import stage_choices

PAGE_SIZE = 50
# Tabs and line breaks are text; other control characters (NUL above all) are refused, as in the API.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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

CSV_COLUMNS = [
    ("id", "id"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("company", "company"),
    ("job_title", "job_title"),
    ("seniority", "seniority"),
    ("country", "country"),
    ("industry", "industry"),
    ("company_size", "company_size"),
    ("persona", "persona__slug"),
    ("campaign", "campaign__slug"),
    ("source", "source"),
    ("stage", "stage"),
    ("owner", "owner__username"),
    ("score", "score"),
    ("fit_score", "fit_score"),
    ("engagement_score", "engagement_score"),
    ("grade", "grade"),
    ("sla_due_at", "sla_due_at"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
]


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What should the other team know?"}),
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if _CONTROL.search(body):
            raise ValidationError("Control characters are not allowed.")
        if not body:
            raise ValidationError("Write something first.")
        return body


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
        .values_list(*(source for _, source in CSV_COLUMNS))
        .iterator(chunk_size=2000)
    )
    return csv_response("leads.csv", [name for name, _ in CSV_COLUMNS], rows)


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
    stages = stage_choices()
    stage_names = dict(stages)
    leads = page.rows if page else []
    for lead in leads:
        lead.stage_name = stage_names.get(lead.stage, lead.stage)
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


@role_required()
@require_GET
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    return render(request, "leads/detail.html", _detail_context(request, lead, NoteForm()))


def _detail_context(request: HttpRequest, lead: Lead, note_form: NoteForm) -> dict[str, Any]:
    return {
        "lead": lead,
        "stage_name": dict(stage_choices()).get(lead.stage, lead.stage),
        "country_name": countries.name(lead.country) if lead.country else "",
        "breakdown": [line for line in lead.score_breakdown or [] if isinstance(line, dict)],
        "panels": lead_panels(lead=lead, user=request.user),
        "notes": Note.objects.filter(lead=lead).select_related("author")[:RECENT_NOTES],
        "note_form": note_form,
    }


@role_required()
@require_POST
def lead_add_note(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render(request, "leads/detail.html", _detail_context(request, lead, form), status=400)
    add_note(lead=lead, author=request.user, body=form.cleaned_data["body"])
    messages.success(request, "Note added.")
    return redirect("leads:detail", lead_id=lead.pk)
