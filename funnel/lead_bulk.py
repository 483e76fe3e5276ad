"""Managers act on several leads of the lead list at once: assign them to a rep, or export them as CSV.

It lives in the funnel because assigning a lead is the funnel's (``funnel.handoff.assign_lead``: a waiting
hand-off gets a new rep and a fresh SLA clock); the list page (``leads.views``) posts its selection here.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import AppError
from core.inputs import is_whole_number
from core.pages import error_text, role_required
from core.roles import MANAGERS
from funnel.handoff import assign_lead
from leads.export import leads_csv
from leads.saved_views import filter_query
from leads.selectors import leads_visible_to

# One page of the list at most: each assignment is its own transaction with its own hand-off rules.
MAX_SELECTED = 200
SHOWN_FAILURES = 5


def _selected_ids(request: HttpRequest) -> list[int]:
    return sorted(
        {int(value) for value in request.POST.getlist("ids") if is_whole_number(value) and len(value) < 19}
    )


@require_POST
@role_required(MANAGERS)
def bulk_action(request: HttpRequest) -> HttpResponse:
    back = reverse("leads:list")
    query = filter_query(request.POST.get("next", ""))
    if query:
        back = f"{back}?{query}"
    ids = _selected_ids(request)
    action = request.POST.get("action", "")
    if not ids:
        messages.error(request, "Select at least one lead first.")
        return redirect(back)
    if len(ids) > MAX_SELECTED:
        messages.error(request, f"Select at most {MAX_SELECTED} leads at a time.")
        return redirect(back)
    leads = leads_visible_to(request.user).filter(pk__in=ids)
    if action == "export":
        return leads_csv(leads)
    if action != "assign":
        messages.error(request, "Choose assign or export.")
        return redirect(back)
    owner = request.POST.get("owner", "")
    if not is_whole_number(owner) or len(owner) > 18:
        messages.error(request, "Choose the rep to assign the leads to.")
        return redirect(back)
    assigned, failures = 0, []
    for lead in leads.select_related(None).only("id", "email"):
        try:
            assign_lead(lead_id=lead.pk, actor=request.user, owner_id=int(owner))
        except AppError as exc:
            failures.append(f"{lead.email}: {error_text(exc)}")
        else:
            assigned += 1
    if assigned:
        messages.success(request, f"Assigned {assigned} lead{'' if assigned == 1 else 's'}.")
    if failures:
        shown = "; ".join(failures[:SHOWN_FAILURES])
        more = f" (and {len(failures) - SHOWN_FAILURES} more)" if len(failures) > SHOWN_FAILURES else ""
        messages.error(request, f"{len(failures)} not assigned: {shown}{more}.")
    return redirect(back)
