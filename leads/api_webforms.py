"""The web form API (marketing and managers): thin views over ``leads.webforms``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.idempotency import IdempotentPostMixin
from core.pagination import page_class
from core.permissions import API_PERMISSIONS
from core.roles import MANAGERS, MARKETING
from core.serializers import StrictModelSerializer, StrictSerializer
from core.text import no_control_characters, no_control_characters_in_line
from leads.models import Campaign, Persona, WebForm
from leads.webforms import (
    DEFINITION_NAMES,
    FORM_FIELDS,
    MAX_LABEL_LENGTH,
    MAX_ORIGINS,
    create_web_form,
    delete_web_form,
    http_url,
    normalise_fields,
    normalise_origins,
    update_web_form,
)
from leads.webforms_html import snippet

FORM_ROLES = (MARKETING, MANAGERS)
_TEXT_MAX = WebForm._meta.get_field("consent_text").max_length


class WebFormFieldSerializer(StrictSerializer):
    name = serializers.ChoiceField(choices=list(FORM_FIELDS), help_text="A writable lead field.")
    required = serializers.BooleanField(default=False)
    label = serializers.CharField(max_length=MAX_LABEL_LENGTH, required=False, allow_blank=True)


class WebFormSerializer(StrictModelSerializer):
    name = serializers.CharField(max_length=120, validators=[no_control_characters_in_line])
    fields = WebFormFieldSerializer(
        many=True, required=False, help_text="E-mail is always present and required (added if left out)."
    )
    campaign = serializers.SlugRelatedField(
        slug_field="slug", queryset=Campaign.objects.all(), allow_null=True, required=False
    )
    persona = serializers.SlugRelatedField(
        slug_field="slug", queryset=Persona.objects.all(), allow_null=True, required=False
    )
    consent_text = serializers.CharField(
        max_length=_TEXT_MAX, allow_blank=True, required=False, validators=[no_control_characters]
    )
    thank_you = serializers.CharField(
        max_length=_TEXT_MAX, allow_blank=True, required=False, validators=[no_control_characters]
    )
    redirect_url = serializers.CharField(
        max_length=500, allow_blank=True, required=False, validators=[no_control_characters_in_line, http_url]
    )
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=MAX_ORIGINS, required=False
    )
    active = serializers.BooleanField(required=False, default=True)
    snippet = serializers.SerializerMethodField(help_text="The HTML to paste into a website.")

    class Meta:
        model = WebForm
        read_only_fields = ["id", "key", "honeypot_field", "snippet", "created_at", "updated_at"]
        fields = ["id", *DEFINITION_NAMES, *read_only_fields[1:]]

    def validate_fields(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return normalise_fields([dict(item) for item in value])

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        return normalise_origins(value)

    @extend_schema_field(serializers.CharField())
    def get_snippet(self, form: WebForm) -> str:
        request = self.context.get("request")
        base_url = request.build_absolute_uri("/") if request is not None else "/"
        return snippet(form, base_url=base_url)


class WebFormViewSet(IdempotentPostMixin, viewsets.ModelViewSet):
    """Web forms: define what a form asks for, where its leads go, and get the snippet to embed."""

    permission_classes = API_PERMISSIONS
    allowed_roles = {
        action: FORM_ROLES for action in ("list", "retrieve", "create", "partial_update", "destroy")
    }
    serializer_class = WebFormSerializer
    pagination_class = page_class(size=50, maximum=200)
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[WebForm]:
        return WebForm.objects.select_related("campaign", "persona").order_by("-id")

    @extend_schema(parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)])
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        form = create_web_form(definition=dict(serializer.validated_data), actor=request.user)
        return Response(self.get_serializer(form).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        form = self.get_object()
        serializer = self.get_serializer(form, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        form = update_web_form(form=form, changes=dict(serializer.validated_data), actor=request.user)
        return Response(self.get_serializer(form).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        delete_web_form(form=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
