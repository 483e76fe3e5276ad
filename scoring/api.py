"""The scoring-model API: thin views over ``scoring.versions`` (propose, approve)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound, ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.models import Scope
from core.permissions import API_PERMISSIONS
from core.serializers import require_object
from leads.models import ActivityType
from scoring.models import ScoringModel
from scoring.qualification import active_scoring_model
from scoring.schemas import ModelChanges
from scoring.versions import approve_scoring_model, propose_scoring_model


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


_APPROVERS = inline_serializer(
    name="Approvers",
    fields={
        "marketing": serializers.IntegerField(allow_null=True, help_text="The marketer's user id."),
        "sales": serializers.IntegerField(allow_null=True, help_text="The sales user's id."),
    },
)
_APPROVAL_TIMES = inline_serializer(
    name="ApprovalTimes",
    fields={
        "marketing": serializers.DateTimeField(allow_null=True),
        "sales": serializers.DateTimeField(allow_null=True),
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

    @extend_schema_field(_APPROVERS)
    def get_approved_by(self, model: ScoringModel) -> dict[str, int | None]:
        return {"marketing": model.approved_by_marketing_id, "sales": model.approved_by_sales_id}

    @extend_schema_field(_APPROVAL_TIMES)
    def get_approved_at(self, model: ScoringModel) -> dict[str, str | None]:
        def iso(value: Any) -> str | None:
            return serializers.DateTimeField().to_representation(value) if value else None

        return {"marketing": iso(model.marketing_approved_at), "sales": iso(model.sales_approved_at)}


class ActiveScoringModelView(APIView):
    """The active scoring model."""

    permission_classes = API_PERMISSIONS
    required_scopes = {"get": Scope.READ}

    @extend_schema(
        responses={
            200: ScoringModelSerializer,
            404: OpenApiResponse(description="No scoring model is active."),
        }
    )
    def get(self, request: Request) -> Response:
        model = active_scoring_model()
        if model is None:
            raise NotFound("No scoring model is active.")
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
        request=ModelChanges,
        responses={201: ScoringModelSerializer},
        description="Propose a draft; a field left out keeps the active version's value.",
    )
    def create(self, request: Request) -> Response:
        draft = propose_scoring_model(actor=request.user, changes=require_object(request.data))
        return Response(ScoringModelSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: ScoringModelSerializer},
        description="Approve a draft for your team; once both teams approved, it is active and every lead "
        "is rescored.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, version: str | None = None) -> Response:
        if request.data not in (None, {}) and not isinstance(request.data, dict):
            raise ValidationProblem({"non_field_errors": ["Expected no body or an empty JSON object."]})
        if isinstance(request.data, dict) and request.data:
            raise ValidationProblem({name: ["Unknown field."] for name in request.data})
        approval = approve_scoring_model(actor=request.user, version=int(version or 0))
        return Response(ScoringModelSerializer(approval.model).data)
