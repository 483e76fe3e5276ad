"""The KPI and goal API: thin views over the snapshots, goals and refresh domain modules."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alignment.goals import GOAL_METRICS, create_goal, delete_goal, progress_for, update_goal, validate_target
from alignment.kpi_definitions import REGISTRY
from alignment.models import Goal
from alignment.periods import InvalidPeriod, current_month, parse_period
from alignment.refresh import request_refresh
from alignment.scopes import InvalidScope, Scope, resolve_scope
from alignment.snapshots import read_snapshot
from core.errors import ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.pagination import page_class
from core.permissions import API_PERMISSIONS
from core.roles import MANAGERS
from core.serializers import StrictModelSerializer, StrictSerializer, no_control_characters

MANAGERS_ONLY = (MANAGERS,)


def period_param(value: Any, *, field: str = "period") -> Any:
    try:
        return parse_period(value)
    except InvalidPeriod as exc:
        raise ValidationProblem({field: [str(exc)]}) from None


def scope_param(value: Any, *, field: str = "scope") -> Scope:
    try:
        return resolve_scope(value)
    except InvalidScope as exc:
        raise ValidationProblem({field: [str(exc)]}) from None


class KpiDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    description = serializers.CharField()
    higher_is_better = serializers.BooleanField()


@extend_schema_field(
    {
        "anyOf": [
            {"type": "number"},
            {"type": "object", "additionalProperties": {"type": "integer"}},
            {"type": "null"},
        ],
        "description": "A number, an object of counts (reject_reasons), or null when not computed.",
    }
)
class KpiValueField(serializers.JSONField):
    pass


KpiValuesSerializer = inline_serializer(
    name="KpiValues",
    fields={
        "period": serializers.CharField(),
        "scope": serializers.CharField(),
        "computed_at": serializers.DateTimeField(allow_null=True),
        "metrics": serializers.DictField(child=KpiValueField(allow_null=True)),
    },
)


class RefreshSerializer(StrictSerializer):
    periods = serializers.ListField(
        child=serializers.CharField(max_length=7), required=False, min_length=1, max_length=24
    )


class KpiViewSet(IdempotentPostMixin, viewsets.ViewSet):
    """KPI definitions, stored values per period and scope, and a manager's refresh."""

    permission_classes = API_PERMISSIONS
    allowed_roles = {"refresh": MANAGERS_ONLY}
    single_object_list = True  # GET /kpis/ answers one object: the period's values

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="YYYY-MM or YYYY-Qn; the current month by default"),
            OpenApiParameter("scope", str, description="all, campaign:<slug>, persona:<slug> or rep:<id>"),
        ],
        responses={200: KpiValuesSerializer},
        description="Every KPI of one period and scope, as last computed (values are null until computed).",
    )
    def list(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - {"period", "scope", "format"})
        if unknown:
            raise ValidationProblem({name: ["Unknown parameter."] for name in unknown})
        raw_period = request.query_params.get("period")
        period = current_month() if raw_period is None else period_param(raw_period)
        scope = scope_param(request.query_params.get("scope", "all"))
        snapshot = read_snapshot(period=period, scope=scope)
        return Response(
            {
                "period": snapshot.period,
                "scope": snapshot.scope,
                "computed_at": snapshot.computed_at,
                "metrics": snapshot.metrics,
            }
        )

    @extend_schema(responses={200: KpiDefinitionSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def definitions(self, request: Request) -> Response:
        return Response(KpiDefinitionSerializer(REGISTRY, many=True).data)

    @extend_schema(
        request=RefreshSerializer,
        responses={
            202: inline_serializer(name="KpiRefreshQueued", fields={"periods": serializers.ListField()})
        },
        description="Queue a recomputation (managers). Default: the current and previous month and quarter.",
    )
    @action(detail=False, methods=["post"])
    def refresh(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data if request.data is not None else {})
        serializer.is_valid(raise_exception=True)
        raw = serializer.validated_data.get("periods")
        periods = [period_param(value, field="periods") for value in raw] if raw else None
        keys = request_refresh(actor=request.user, periods=periods)
        return Response({"periods": keys}, status=status.HTTP_202_ACCEPTED)


class ProgressSerializer(serializers.Serializer):
    value = KpiValueField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True)
    expected_ratio = serializers.FloatField()
    status = serializers.ChoiceField(choices=["on_track", "at_risk", "off_track"])


class GoalSerializer(StrictModelSerializer):
    name = serializers.CharField(max_length=120, validators=[no_control_characters])
    metric = serializers.ChoiceField(choices=[kpi.key for kpi in GOAL_METRICS])
    target = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=False)
    period = serializers.CharField(max_length=7)
    scope = serializers.CharField(max_length=80, required=False, default="all")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Goal
        fields = ["id", "name", "metric", "target", "period", "scope", "progress", "created_at", "updated_at"]
        read_only_fields = ["id", "progress", "created_at", "updated_at"]

    def validate_period(self, value: str) -> str:
        try:
            return parse_period(value).key
        except InvalidPeriod as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_scope(self, value: str) -> Scope:
        try:
            return resolve_scope(value)
        except InvalidScope as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        metric = attrs.get("metric", getattr(self.instance, "metric", None))
        target = attrs.get("target", getattr(self.instance, "target", None))
        if metric is not None and target is not None:
            message = validate_target(metric=metric, target=target)
            if message:
                raise serializers.ValidationError({"target": [message]})
        return attrs

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, goal: Goal) -> dict[str, Any]:
        known = self.context.get("progress") or {}
        progress = known.get(goal.pk) or progress_for([goal])[goal.pk]
        return progress.as_dict()


class GoalViewSet(IdempotentPostMixin, viewsets.ModelViewSet):
    """Joint goals: everyone with a role reads them with their progress; managers write them."""

    permission_classes = API_PERMISSIONS
    allowed_roles = {
        "create": MANAGERS_ONLY,
        "partial_update": MANAGERS_ONLY,
        "destroy": MANAGERS_ONLY,
    }
    serializer_class = GoalSerializer
    pagination_class = page_class(size=100, maximum=500)
    ordering = "period"
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Goal]:
        return Goal.objects.with_scope().order_by("period", "name", "id")

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="only goals of this period (YYYY-MM or YYYY-Qn)"),
            OpenApiParameter("metric", str, description="only goals on this KPI"),
        ]
    )
    def list(self, request: Request) -> Response:
        goals = self.get_queryset()
        if "period" in request.query_params:
            goals = goals.filter(period=period_param(request.query_params["period"]).key)
        if "metric" in request.query_params:
            metric = request.query_params["metric"]
            if metric not in {kpi.key for kpi in GOAL_METRICS}:  # a NUL here would reach PostgreSQL
                raise ValidationProblem({"metric": ["Must be the key of a KPI that goals can target."]})
            goals = goals.filter(metric=metric)
        page = self.paginate_queryset(goals)
        context = {**self.get_serializer_context(), "progress": progress_for(page)}
        return self.get_paginated_response(GoalSerializer(page, many=True, context=context).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        goal = create_goal(actor=request.user, fields=dict(serializer.validated_data))
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        goal = self.get_object()
        serializer = self.get_serializer(goal, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        goal = update_goal(goal=goal, actor=request.user, fields=dict(serializer.validated_data))
        return Response(GoalSerializer(goal).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        delete_goal(goal=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
