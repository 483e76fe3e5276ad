from __future__ import annotations

from django.urls import path

from core import views

app_name = "core"

urlpatterns = [
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.revoke, name="revoke-token"),
    path("audit/", views.audit, name="audit"),
    path("notifications/", views.notifications, name="notifications"),
]
