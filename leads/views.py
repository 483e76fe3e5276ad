from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.pages import role_required
from leads.filters import LeadFilter
from leads.selectors import get_lead_for, leads_visible_to


@role_required()
def lead_list(request: HttpRequest) -> HttpResponse:
    lead_filter = LeadFilter(request.GET, queryset=leads_visible_to(request.user))
    leads = lead_filter.qs.order_by("-created_at", "-id")[:50] if lead_filter.is_valid() else []
    return render(request, "leads/list.html", {"filter": lead_filter, "leads": leads})


@role_required()
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    return render(request, "leads/detail.html", {"lead": lead})
