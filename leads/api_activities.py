"""The activity API: thin views over ``leads.activities``."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from pydantic import BaseModel, ConfigDict, Field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.models import Scope
from core.pagination import page_class
from core.permissions import API_PERMISSIONS
from core.serializers import batch_items, per_item_schema, require_object
from leads.activities import MAX_BATCH, ActivityIn, record_activities
from leads.api import BatchResultSerializer, batch_response
from leads.filters import MAX_ID, PresentChoiceFilter, PresentIsoDateTimeFilter
from leads.models import Activity, ActivityType
from leads.selectors import leads_visible_to


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "lead", "type", "occurred_at", "external_id", "metadata", "created_at"]
        read_only_fields = fields


class ActivityBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=per_item_schema("activities"))

    activities: list[ActivityIn] = Field(min_length=1, max_length=MAX_BATCH)


class ActivityFilter(django_filters.FilterSet):
    lead = django_filters.NumberFilter(field_name="lead_id", min_value=0, max_value=MAX_ID, decimal_places=0)
    type = PresentChoiceFilter(choices=ActivityType.choices)
    occurred_since = PresentIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")

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
        request=ActivityIn,
        responses={200: ActivitySerializer, 201: ActivitySerializer},
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
        request=ActivityBatchIn,
        responses={200: BatchResultSerializer},
        description="Record 1 to 1000 activities; each item gets its own result.",
    )
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        items = batch_items(request.data, key="activities", limit=MAX_BATCH)
        return batch_response(record_activities(items=items))
