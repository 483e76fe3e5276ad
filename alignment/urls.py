from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from alignment import views
from alignment.api import GoalViewSet, KpiViewSet
from core.api_webhooks import WebhookEndpointViewSet
from core.health import healthz
from core.views import ThrottledLoginView
from funnel.urls import lead_urlpatterns
from leads.api import LeadViewSet
from leads.api_activities import ActivityViewSet
from leads.api_webforms import WebFormViewSet
from leads.urls import urlpatterns as lead_list_urlpatterns
from leads.webforms_urls import public_urlpatterns as webform_public_urlpatterns
from scoring.api import ActiveScoringModelView, ScoringModelVersionViewSet

router = SimpleRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("activities", ActivityViewSet, basename="activity")
router.register("scoring-model/versions", ScoringModelVersionViewSet, basename="scoring-model-version")
router.register("kpis", KpiViewSet, basename="kpi")
router.register("goals", GoalViewSet, basename="goal")
router.register("forms", WebFormViewSet, basename="webform")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("kpis/refresh/", views.refresh, name="kpis-refresh"),
    path("kpis/refresh/status/", views.refresh_status, name="kpis-refresh-status"),
    path("goals/", views.goals, name="goals"),
    path("goals/new/", views.goal_edit, name="goal-new"),
    path("goals/<int:goal_id>/edit/", views.goal_edit, name="goal-edit"),
    path("goals/<int:goal_id>/delete/", views.goal_delete, name="goal-delete"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/scoring-model/", ActiveScoringModelView.as_view(), name="scoring-model"),
    path("api/v1/", include("funnel.api_urls")),
    path("api/v1/", include("core.api_urls")),
    path("api/v1/", include(router.urls)),
    # The lead list (leads) and one lead's page (funnel) share the ``leads`` namespace.
    path("leads/", include(([*lead_list_urlpatterns, *lead_urlpatterns], "leads"))),
    path("import/", include("leads.import_urls")),
    path("scoring/", include("scoring.urls")),
    path("forms/", include("leads.webforms_urls")),
    path("f/", include((webform_public_urlpatterns, "webforms-public"))),
    path("", include("funnel.urls")),
    path("", include("core.urls")),
]

handler400 = "core.errors_pages.bad_request"
handler403 = "core.errors_pages.permission_denied"
handler404 = "core.errors_pages.page_not_found"
handler500 = "core.errors_pages.server_error"
