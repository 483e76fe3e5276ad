"""Pages that write a lead's fields: a new lead (/leads/new/) and editing one (/leads/<id>/edit/).

Editing swaps the profile panel of the lead's page for a form with htmx; without JavaScript it is a page of
its own. Both go through the same validation as the API (``leads.forms.LeadForm`` → ``leads.schemas``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_countries import countries

from core.errors import ValidationProblem
from core.pages import role_required
from leads.forms import LeadForm
from leads.ingest import LeadExists, create_lead, update_lead
from leads.models import Lead
from leads.selectors import can_edit_lead, get_lead_for


def profile_context(lead: Lead, *, user: Any) -> dict[str, Any]:
    """What the profile panel (``leads/_profile.html``) needs; the lead's page includes it too."""
    return {
        "lead": lead,
        "country_name": countries.name(lead.country) if lead.country else "",
        "can_edit": can_edit_lead(user, lead),
    }


def _add_problem(form: LeadForm, problem: ValidationProblem) -> None:
    for name, field_messages in (problem.errors or {}).items():
        form.add_error(name if name in form.fields else None, field_messages)


@role_required()
@require_GET
def lead_profile(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The profile panel alone: what "Cancel" on the inline form swaps back in."""
    lead = get_lead_for(request.user, lead_id)
    return render(request, "leads/_profile.html", profile_context(lead, user=request.user))


@role_required()
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id, write=True)
    inline = bool(request.htmx)
    form = LeadForm(request.POST or None, lead=lead)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                update_lead(lead=lead, fields=form.payload, actor=request.user)
            except ValidationProblem as problem:
                _add_problem(form, problem)
            else:
                saved = "Saved." if form.payload else "Nothing changed."
                if inline:
                    lead = get_lead_for(request.user, lead.pk)
                    context = {**profile_context(lead, user=request.user), "saved": saved}
                    response = render(request, "leads/_profile.html", context)
                    # The timeline below shows the change: let the page reload it.
                    response["HX-Trigger"] = "lead-changed"
                    return response
                messages.success(request, saved)
                return redirect("leads:detail", lead_id=lead.pk)
        status = 400
    template = "leads/_profile_form.html" if inline else "leads/edit.html"
    # TRICKY: htmx swaps only 2xx answers by default, so the inline form with its errors comes back as 200.
    return render(request, template, {"lead": lead, "form": form}, status=200 if inline else status)


@role_required()
@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST or None)
    existing = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                lead = create_lead(item=form.payload, actor=request.user)
            except LeadExists as exists:
                existing = exists.lead_id
                form.add_error("email", "A lead with this e-mail address already exists.")
            except ValidationProblem as problem:
                _add_problem(form, problem)
            else:
                messages.success(request, f"Lead {lead.email} created.")
                return redirect("leads:detail", lead_id=lead.pk)
        status = 400
    context = {
        "form": form,
        "existing_url": reverse("leads:detail", args=[existing]) if existing else "",
    }
    return render(request, "leads/new.html", context, status=status)
