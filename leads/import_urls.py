"""The CSV import pages, at /import/."""

from __future__ import annotations

from django.urls import path

from leads import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.import_start, name="start"),
    path("<int:import_id>/", import_views.import_detail, name="detail"),
    path("<int:import_id>/progress/", import_views.import_progress, name="progress"),
    path("<int:import_id>/errors.csv", import_views.import_errors, name="errors"),
]
