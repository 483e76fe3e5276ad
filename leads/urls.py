from __future__ import annotations

from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:lead_id>/", views.lead_detail, name="detail"),
    path("<int:lead_id>/notes/", views.lead_add_note, name="add-note"),
]
