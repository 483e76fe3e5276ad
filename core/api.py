"""The notifications API: the caller's own alerts, and marking them read."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationProblem
from core.models import Notification
from core.notifications import mark_all_read, mark_read, unread_count
from core.pagination import KeysetPagination
from core.permissions import API_PERMISSIONS
from core.serializers import require_object

READ_IDS_MAX = 1000


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationPagination(KeysetPagination):
    page_size = 50
    max_page_size = 200

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread"] = unread_count(self.request.user.pk)
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["properties"]["unread"] = {"type": "integer", "minimum": 0}
        paged["required"] = [*paged.get("required", []), "unread"]
        return paged


class NotificationList(generics.ListAPIView):
    """The caller's notifications, newest first, with the number still unread."""

    permission_classes = API_PERMISSIONS
    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination
    ordering = "-created_at"

    queryset = Notification.objects.none()  # for the schema; requests get their own user's

    def get_queryset(self) -> QuerySet[Notification]:
        return Notification.objects.filter(user=self.request.user)


class MarkNotificationsRead(APIView):
    """Mark the caller's notifications read: ``{"ids": [...]}`` or ``{"all": true}``."""

    permission_classes = API_PERMISSIONS
    required_scopes = {"post": "read"}  # reading one's own alerts, not acting on the funnel

    @extend_schema(
        request=inline_serializer(
            name="MarkNotificationsRead",
            fields={
                "ids": serializers.ListField(
                    child=serializers.IntegerField(min_value=1), required=False, max_length=READ_IDS_MAX
                ),
                "all": serializers.BooleanField(required=False),
            },
        ),
        responses={
            200: inline_serializer(
                name="NotificationsMarked",
                fields={"marked": serializers.IntegerField(), "unread": serializers.IntegerField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        data = require_object(request.data)
        unknown = sorted(set(data) - {"ids", "all"})
        if unknown:
            raise ValidationProblem({name: ["Unknown field."] for name in unknown})
        if data.get("all") is True and "ids" not in data:
            marked = mark_all_read(user=request.user)
        elif "ids" in data and "all" not in data:
            ids = data["ids"]
            valid = isinstance(ids, list) and all(type(i) is int and i > 0 for i in ids)
            if not valid or not 1 <= len(ids) <= READ_IDS_MAX:
                raise ValidationProblem({"ids": [f"A list of 1 to {READ_IDS_MAX} notification ids."]})
            marked = mark_read(user=request.user, ids=ids)
        else:
            raise ValidationProblem({"non_field_errors": ['Send {"ids": [...]} or {"all": true}.']})
        return Response({"marked": marked, "unread": unread_count(request.user.pk)})
