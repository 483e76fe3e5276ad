"""Web forms: the pages at /forms/ and the public form at /f/<key>/."""

from __future__ import annotations

from django.urls import path

from leads import webforms_public, webforms_views

app_name = "webforms"

urlpatterns = [
    path("", webforms_views.form_list, name="list"),
    path("new/", webforms_views.form_new, name="new"),
    path("<int:form_id>/", webforms_views.form_detail, name="detail"),
    path("<int:form_id>/edit/", webforms_views.form_edit, name="edit"),
    path("<int:form_id>/delete/", webforms_views.form_delete, name="delete"),
]

# Included at /f/ under the namespace ``webforms-public``.
public_urlpatterns = [
    path("<str:key>/", webforms_public.public_form, name="form"),
]
