"""API routes of core, included under ``api/v1/``."""

from __future__ import annotations

from django.urls import path

from core import api

urlpatterns = [
    path("notifications/", api.NotificationList.as_view(), name="api-notifications"),
    path("notifications/read/", api.MarkNotificationsRead.as_view(), name="api-notifications-read"),
]
