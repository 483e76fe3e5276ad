"""The scoring page, mounted at /scoring/ (its own namespace, so the path stays short)."""

from __future__ import annotations

from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.scoring_page, name="model"),
    path("progress/", views.scoring_run_progress, name="progress"),
    path("propose/", views.scoring_propose, name="propose"),
    path("<int:version>/approve/", views.scoring_approve, name="approve"),
    path("<int:version>/reject/", views.scoring_reject, name="reject"),
    path("<int:version>/impact/", views.scoring_draft_impact, name="impact"),
]
