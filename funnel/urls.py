from __future__ import annotations

from django.urls import path

from funnel import views

app_name = "funnel"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/<int:lead_id>/accept/", views.accept, name="accept"),
    path("queue/<int:lead_id>/reject/", views.reject, name="reject"),
    path("queue/<int:lead_id>/assign/", views.assign, name="assign"),
    path("feedback/", views.feedback_view, name="feedback"),
]
