"""The activity API: thin views over ``leads.activities``."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.models import Scope
from core.pagination import page_class
from core.permissions import API_PERMISSIONS
from core.serializers import batch_items, require_object
from leads.activities import MAX_BATCH, record_activities
from leads.api import BatchResultSerializer, batch_response
from leads.models import Activity, ActivityType
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


class ActivityViewSet(IdempotentPostMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Activities: record one or a batch (by lead id or e-mail, deduplicated by external_id), list."""

    permission_classes = API_PERMISSIONS
    required_scopes = {"create": Scope.INGEST, "batch": Scope.INGEST, "list": Scope.READ}
    serializer_class = ActivitySerializer
    pagination_class = page_class(size=100, maximum=1000)
    ordering = "-occurred_at"
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
