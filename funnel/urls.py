from __future__ import annotations

from django.urls import path

from funnel import lead_bulk, lead_page, views

app_name = "funnel"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/assign/", views.bulk_assign, name="bulk-assign"),
    path("queue/<int:lead_id>/accept/", views.accept, name="accept"),
    path("queue/<int:lead_id>/reject/", views.reject, name="reject"),
    path("queue/<int:lead_id>/assign/", views.assign, name="assign"),
    path("feedback/", views.feedback_view, name="feedback"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("pipeline/<int:lead_id>/move/", views.pipeline_move, name="pipeline-move"),
]

# One lead's page, under /leads/ in the ``leads`` namespace (see alignment/urls.py).
lead_urlpatterns = [
    path("mentions/", lead_page.mention_suggestions, name="mentions"),
    path("bulk/", lead_bulk.bulk_action, name="bulk"),
    path("<int:lead_id>/", lead_page.lead_detail, name="detail"),
    path("<int:lead_id>/notes/", lead_page.lead_add_note, name="add-note"),
]
