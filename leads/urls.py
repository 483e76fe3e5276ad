from __future__ import annotations

from django.urls import path

from leads import duplicate_views, views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("duplicates/", duplicate_views.duplicates, name="duplicates"),
    path("<int:lead_id>/merge/", duplicate_views.merge, name="merge"),
]
