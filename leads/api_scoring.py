"""The activity and scoring-model API: thin views over ``leads.activities`` and ``leads.scoring_models``."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Conflict, ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.models import Scope
from core.permissions import API_PERMISSIONS
from core.serializers import batch_items, require_object
from leads.activities import MAX_BATCH, record_activities
from leads.api import BatchResultSerializer, batch_response
from leads.models import Activity, ActivityType, ScoringModel
from leads.qualification import active_scoring_model
from leads.scoring_models import ModelError, approve_scoring_model, propose_scoring_model
from leads.selectors import leads_visible_to


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "lead", "type", "occurred_at", "external_id", "metadata", "created_at"]
        read_only_fields = fields


class ActivityInSerializer(serializers.Serializer):
    """What a client sends for one activity (documentation; validation is ``leads.activities``)."""

    lead = serializers.IntegerField(required=False, min_value=1, help_text="The lead's id, or give email.")
    email = serializers.EmailField(required=False, help_text="The lead's e-mail address, or give lead.")
    type = serializers.ChoiceField(choices=ActivityType.choices)
    occurred_at = serializers.DateTimeField(required=False, help_text="ISO 8601 with offset; default now.")
    external_id = serializers.CharField(required=False, max_length=200, help_text="Stored once per value.")
    metadata = serializers.DictField(required=False)


class ActivityFilter(django_filters.FilterSet):
    lead = django_filters.NumberFilter(field_name="lead_id")
    type = django_filters.ChoiceFilter(choices=ActivityType.choices)
    occurred_since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")

    class Meta:
        model = Activity
        fields = ["lead", "type", "occurred_since"]


class ActivityCursorPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = ("-occurred_at", "-id")


class ActivityViewSet(IdempotentPostMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Activities: record one or a batch (by lead id or e-mail, deduplicated by external_id), list."""

    permission_classes = API_PERMISSIONS
    required_scopes = {"create": Scope.INGEST, "batch": Scope.INGEST, "list": Scope.READ}
    serializer_class = ActivitySerializer
    pagination_class = ActivityCursorPagination
    filterset_class = ActivityFilter
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Activity]:
        return Activity.objects.filter(lead__in=leads_visible_to(self.request.user).values("pk"))

    @extend_schema(
        request=ActivityInSerializer,
        responses={200: ActivitySerializer, 201: ActivitySerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Record one activity: 201 when stored, 200 when an activity with its external_id exists.",
    )
    def create(self, request: Request) -> Response:
        result = record_activities(items=[require_object(request.data)]).results[0]
        if result.status == "error":
            raise ValidationProblem(result.errors)
        activity = Activity.objects.get(pk=result.id)
        code = status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK
        return Response(ActivitySerializer(activity).data, status=code)

    @extend_schema(
        request=inline_serializer(
            name="ActivityBatchIn",
            fields={"activities": ActivityInSerializer(many=True)},
        ),
        responses={200: BatchResultSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Record 1 to 1000 activities; each item gets its own result.",
    )
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        items = batch_items(request.data, key="activities", limit=MAX_BATCH)
        return batch_response(record_activities(items=items))


class FitRuleSerializer(serializers.Serializer):
    field = serializers.CharField()
    operator = serializers.ChoiceField(choices=["eq", "in", "contains", "gte", "lte", "is_true"])
    value = serializers.JSONField()
    points = serializers.IntegerField()
    label = serializers.CharField()


class EngagementRuleSerializer(serializers.Serializer):
    activity_type = serializers.ChoiceField(choices=ActivityType.choices)
    points = serializers.IntegerField()
    max_per_30_days = serializers.IntegerField()


_SIDES = inline_serializer(
    name="ApprovalSides",
    fields={
        "marketing": serializers.CharField(allow_null=True),
        "sales": serializers.CharField(allow_null=True),
    },
)


class ScoringModelSerializer(serializers.ModelSerializer):
    fit_rules = FitRuleSerializer(many=True)
    engagement_rules = EngagementRuleSerializer(many=True)
    grade_bands = serializers.DictField(child=serializers.IntegerField())
    approved_by = serializers.SerializerMethodField()
    approved_at = serializers.SerializerMethodField()

    class Meta:
        model = ScoringModel
        fields = [
            "version",
            "status",
            "mql_threshold",
            "min_grade",
            "engagement_half_life_days",
            "fit_rules",
            "engagement_rules",
            "grade_bands",
            "note",
            "proposed_by",
            "approved_by",
            "approved_at",
            "created_at",
            "activated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(_SIDES)
    def get_approved_by(self, model: ScoringModel) -> dict[str, int | None]:
        return {"marketing": model.approved_by_marketing_id, "sales": model.approved_by_sales_id}

    @extend_schema_field(_SIDES)
    def get_approved_at(self, model: ScoringModel) -> dict[str, str | None]:
        def iso(value: Any) -> str | None:
            return serializers.DateTimeField().to_representation(value) if value else None

        return {"marketing": iso(model.marketing_approved_at), "sales": iso(model.sales_approved_at)}


def _raise_for(error: ModelError) -> None:
    if error.not_found:
        raise exceptions.NotFound(error.message)
    if error.errors:
        raise ValidationProblem(error.errors, detail=error.message)
    if error.conflict:
        raise Conflict(error.message)
    raise exceptions.PermissionDenied(error.message)


class ActiveScoringModelView(APIView):
    """The active scoring model."""

    permission_classes = API_PERMISSIONS
    required_scopes = {"get": Scope.READ}

    @extend_schema(responses={200: ScoringModelSerializer})
    def get(self, request: Request) -> Response:
        model = active_scoring_model()
        if model is None:
            raise exceptions.NotFound("No scoring model is active.")
        return Response(ScoringModelSerializer(model).data)


class ScoringModelVersionViewSet(
    IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Scoring model versions: list, read, propose a draft, approve a draft."""

    permission_classes = API_PERMISSIONS
    required_scopes = {
        "list": Scope.READ,
        "retrieve": Scope.READ,
        "create": Scope.WRITE,
        "approve": Scope.WRITE,
    }
    serializer_class = ScoringModelSerializer
    pagination_class = None
    lookup_field = "version"
    lookup_value_regex = r"[0-9]{1,9}"
    queryset = ScoringModel.objects.order_by("-version")
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(
        request=ScoringModelSerializer,
        responses={201: ScoringModelSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Propose a draft; a field left out keeps the active version's value.",
    )
    def create(self, request: Request) -> Response:
        try:
            draft = propose_scoring_model(actor=request.user, changes=require_object(request.data))
        except ModelError as error:
            _raise_for(error)
            raise
        return Response(ScoringModelSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: ScoringModelSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Approve a draft for your team; once both teams approved, it is active and every lead "
        "is rescored.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, version: str | None = None) -> Response:
        if request.data not in (None, {}) and not isinstance(request.data, dict):
            raise ValidationProblem({"non_field_errors": ["Expected no body or an empty JSON object."]})
        if isinstance(request.data, dict) and request.data:
            raise ValidationProblem({name: ["Unknown field."] for name in request.data})
        try:
            approval = approve_scoring_model(actor=request.user, version=int(version or 0))
        except ModelError as error:
            _raise_for(error)
            raise
        return Response(ScoringModelSerializer(approval.model).data)
