"""Pages for cleaning up duplicates (managers): the list of likely pairs, and merging two leads."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.csv_export import csv_response, wants_csv
from core.errors import AppError
from core.pages import role_required, show_error
from core.roles import MANAGERS
from leads.duplicates import likely_pairs
from leads.merge import merge_leads


class MergeForm(forms.Form):
    other = forms.IntegerField(min_value=1, max_value=2**63 - 1)


@role_required(MANAGERS)
@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    """Likely duplicate pairs, newest first, with the reasons and a merge button each way."""
    pairs = likely_pairs()
    if wants_csv(request):
        rows = (
            [p.first.pk, p.first.email, p.second.pk, p.second.email, "; ".join(p.reason_labels)]
            for p in pairs
        )
        return csv_response("duplicates.csv", ["lead", "email", "other_lead", "other_email", "reasons"], rows)
    return render(request, "leads/duplicates.html", {"pairs": pairs})


@role_required(MANAGERS)
@require_POST
def merge(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Merge the posted ``other`` lead into this one, then show the survivor."""
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the lead to merge.")
        return redirect("leads:duplicates")
    other = form.cleaned_data["other"]
    try:
        merge_leads(survivor_id=lead_id, other_id=other, actor=request.user)
    except AppError as error:
        show_error(request, error)
        if request.POST.get("back") == "detail":
            return redirect("leads:detail", lead_id=lead_id)
        return redirect("leads:duplicates")
    messages.success(request, f"Lead {other} was merged into this lead.")
    return redirect("leads:detail", lead_id=lead_id)
