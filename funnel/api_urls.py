"""API routes of the funnel, included under ``api/v1/`` before the router."""

from __future__ import annotations

from django.urls import path

from funnel import api

urlpatterns = [
    path("stages/", api.StageList.as_view(), name="api-stages"),
    path("reject-reasons/", api.RejectReasonList.as_view(), name="api-reject-reasons"),
    path("lost-reasons/", api.LostReasonList.as_view(), name="api-lost-reasons"),
    path("leads/<int:lead_id>/accept/", api.AcceptLead.as_view(), name="api-lead-accept"),
    path("leads/<int:lead_id>/reject/", api.RejectLead.as_view(), name="api-lead-reject"),
    path("leads/<int:lead_id>/move/", api.MoveLead.as_view(), name="api-lead-move"),
    path("leads/<int:lead_id>/assign/", api.AssignLead.as_view(), name="api-lead-assign"),
    path("leads/<int:lead_id>/transitions/", api.LeadTransitions.as_view(), name="api-lead-transitions"),
    path("leads/<int:lead_id>/timeline/", api.LeadTimeline.as_view(), name="api-lead-timeline"),
]
