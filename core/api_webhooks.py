"""The webhook API (managers): endpoints, their delivery log, and sending a delivery again."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.idempotency import IdempotentPostMixin
from core.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEventType
from core.pagination import page_class
from core.permissions import API_PERMISSIONS
from core.roles import MANAGERS
from core.serializers import StrictModelSerializer, require_object
from core.webhook_delivery import redeliver
from core.webhooks import URL_MAX_LENGTH, create_endpoint, delete_endpoint, update_endpoint

MANAGERS_ONLY = (MANAGERS,)


class WebhookEndpointSerializer(StrictModelSerializer):
    url = serializers.URLField(max_length=URL_MAX_LENGTH)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), min_length=1, max_length=20
    )
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class CreatedWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret: shown only in this answer.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "error", "duration_ms"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.uid", read_only=True)
    event = serializers.ChoiceField(source="event.event", choices=WebhookEventType.choices, read_only=True)
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event",
            "occurred_at",
            "status",
            "attempts",
            "last_status_code",
            "last_attempt_at",
            "next_attempt_at",
            "attempt_log",
        ]


class WebhookEndpointViewSet(
    IdempotentPostMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints: register, change, remove; the delivery log; redeliver. Managers only."""

    permission_classes = API_PERMISSIONS
    allowed_roles = {
        action: MANAGERS_ONLY
        for action in ("list", "retrieve", "create", "partial_update", "destroy", "deliveries", "redeliver")
    }
    serializer_class = WebhookEndpointSerializer
    pagination_class = None
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.order_by("-created_at", "-id")

    @extend_schema(
        request=WebhookEndpointSerializer,
        responses={201: CreatedWebhookEndpointSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Register an endpoint. The answer carries the signing secret, once.",
    )
    def create(self, request: Request) -> Response:
        serializer = WebhookEndpointSerializer(data=require_object(request.data))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = create_endpoint(
            actor=request.user, url=data["url"], events=data["events"], active=data.get("active", True)
        )
        body = {**WebhookEndpointSerializer(endpoint).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointSerializer, responses={200: WebhookEndpointSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        serializer = WebhookEndpointSerializer(endpoint, data=require_object(request.data), partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = update_endpoint(
            endpoint=endpoint, actor=request.user, fields=dict(serializer.validated_data)
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        delete_endpoint(endpoint=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=page_class(size=50, maximum=200))
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """Every delivery to this endpoint, newest first, each with its attempts (status, code, time)."""
        endpoint = self.get_object()
        deliveries = (
            WebhookDelivery.objects.filter(endpoint=endpoint)
            .select_related("event")
            .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-at", "-id")))
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Send one delivery again (after commit, from a worker); 409 while it is being sent.",
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver")
    def redeliver(self, request: Request, pk: str | None = None, delivery_id: str | None = None) -> Response:
        endpoint = self.get_object()
        delivery = get_object_or_404(WebhookDelivery, pk=int(delivery_id or 0), endpoint=endpoint)
        delivery = redeliver(delivery=delivery, actor=request.user)
        delivery = WebhookDelivery.objects.select_related("event").get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
