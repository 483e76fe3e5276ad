from __future__ import annotations

from django.urls import path

from leads import duplicate_views, edit_views, views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", edit_views.lead_new, name="new"),
    path("views/", views.save_view_page, name="save-view"),
    path("views/<int:view_id>/delete/", views.delete_view_page, name="delete-view"),
    path("<int:lead_id>/edit/", edit_views.lead_edit, name="edit"),
    path("<int:lead_id>/profile/", edit_views.lead_profile, name="profile"),
    path("duplicates/", duplicate_views.duplicates, name="duplicates"),
    path("<int:lead_id>/merge/", duplicate_views.merge, name="merge"),
]
