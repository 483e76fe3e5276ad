from __future__ import annotations

from django.urls import path

from core import views, webhook_views

app_name = "core"

urlpatterns = [
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.revoke, name="revoke-token"),
    path("audit/", views.audit, name="audit"),
    path("notifications/", views.notifications, name="notifications"),
    path("webhooks/", webhook_views.webhooks, name="webhooks"),
    path("webhooks/<int:endpoint_id>/", webhook_views.webhook_detail, name="webhook"),
    path("webhooks/<int:endpoint_id>/delete/", webhook_views.webhook_delete, name="webhook-delete"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/",
        webhook_views.webhook_redeliver,
        name="webhook-redeliver",
    ),
]
