"""The scoring-model API: thin views over ``scoring.versions`` (propose, approve, reject)."""

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
from core.serializers import StrictSerializer, require_object
from core.text import no_control_characters
from leads.models import ActivityType
from scoring.models import ScoringModel
from scoring.qualification import active_scoring_model
from scoring.schemas import ModelChanges
from scoring.versions import (
    COMMENT_MAX_LENGTH,
    approve_scoring_model,
    propose_scoring_model,
    reject_scoring_model,
)


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

_REJECTION = inline_serializer(
    name="Rejection",
    fields={
        "by": serializers.IntegerField(allow_null=True, help_text="The user id of who rejected it."),
        "at": serializers.DateTimeField(),
        "comment": serializers.CharField(help_text="Why it was rejected."),
    },
    allow_null=True,
    help_text="Who rejected the draft, when and why; null unless it was rejected.",
)
_IMPACT = inline_serializer(
    name="Impact",
    fields={
        "based_on": serializers.IntegerField(
            allow_null=True, help_text="The version active when it was computed (null: none was)."
        ),
        "leads": serializers.IntegerField(help_text="Leads looked at."),
        "grade_changes": serializers.IntegerField(help_text="Leads whose grade would change."),
        "mql_up": serializers.IntegerField(
            help_text="Leads below the MQL bar now that would meet this version's bar."
        ),
        "mql_down": serializers.IntegerField(
            help_text="Leads meeting the MQL bar now that would fall below this version's bar."
        ),
        "computed_at": serializers.DateTimeField(),
    },
    allow_null=True,
    help_text="What activating the draft would change, against the leads' scores at computed_at; null "
    "while it is being computed (it is computed when the draft is proposed, and again when another version "
    "becomes active).",
)


def _iso(value: Any) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


class ScoringModelSerializer(serializers.ModelSerializer):
    fit_rules = FitRuleSerializer(many=True)
    engagement_rules = EngagementRuleSerializer(many=True)
    grade_bands = serializers.DictField(child=serializers.IntegerField())
    approved_by = serializers.SerializerMethodField()
    approved_at = serializers.SerializerMethodField()
    rejection = serializers.SerializerMethodField()
    impact = serializers.SerializerMethodField()

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
            "rejection",
            "impact",
        ]
        read_only_fields = fields

    @extend_schema_field(_APPROVERS)
    def get_approved_by(self, model: ScoringModel) -> dict[str, int | None]:
        return {"marketing": model.approved_by_marketing_id, "sales": model.approved_by_sales_id}

    @extend_schema_field(_APPROVAL_TIMES)
    def get_approved_at(self, model: ScoringModel) -> dict[str, str | None]:
        return {"marketing": _iso(model.marketing_approved_at), "sales": _iso(model.sales_approved_at)}

    @extend_schema_field(_REJECTION)
    def get_rejection(self, model: ScoringModel) -> dict[str, Any] | None:
        if model.rejected_at is None:
            return None
        return {"by": model.rejected_by_id, "at": _iso(model.rejected_at), "comment": model.rejection_comment}

    @extend_schema_field(_IMPACT)
    def get_impact(self, model: ScoringModel) -> dict[str, Any] | None:
        if model.impact_computed_at is None:
            return None
        return {
            "based_on": model.impact_based_on,
            "leads": model.impact_leads,
            "grade_changes": model.impact_grade_changes,
            "mql_up": model.impact_mql_up,
            "mql_down": model.impact_mql_down,
            "computed_at": _iso(model.impact_computed_at),
        }


class RejectDraftIn(StrictSerializer):
    comment = serializers.CharField(
        max_length=COMMENT_MAX_LENGTH, validators=[no_control_characters], help_text="Why it is rejected."
    )


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
    """Scoring model versions: list, read, propose a draft, approve or reject a draft."""

    permission_classes = API_PERMISSIONS
    required_scopes = {
        "list": Scope.READ,
        "retrieve": Scope.READ,
        "create": Scope.WRITE,
        "approve": Scope.WRITE,
        "reject": Scope.WRITE,
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
        description="Propose a draft; a field left out keeps the active version's value. The proposal is the "
        "proposer's approval for their own team (marketing for a marketer, sales for a sales rep or a "
        "manager); what the draft would change (`impact`) is computed in the background.",
    )
    def create(self, request: Request) -> Response:
        draft = propose_scoring_model(actor=request.user, changes=require_object(request.data))
        return Response(ScoringModelSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: ScoringModelSerializer},
        description="Approve a draft for your team (the proposer's team approved it by proposing it); once "
        "both teams approved, it is active and every lead is rescored. 409 if your team approved it already "
        "or it is not a draft (active, retired or rejected).",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, version: str | None = None) -> Response:
        if request.data not in (None, {}) and not isinstance(request.data, dict):
            raise ValidationProblem({"non_field_errors": ["Expected no body or an empty JSON object."]})
        if isinstance(request.data, dict) and request.data:
            raise ValidationProblem({name: ["Unknown field."] for name in request.data})
        approval = approve_scoring_model(actor=request.user, version=int(version or 0))
        return Response(ScoringModelSerializer(approval.model).data)

    @extend_schema(
        request=RejectDraftIn,
        responses={200: ScoringModelSerializer},
        description="Reject a draft with a comment saying why (a marketer, a sales rep or a manager): it "
        "becomes rejected and can no longer be approved; 409 if it is not a draft.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, version: str | None = None) -> Response:
        serializer = RejectDraftIn(data=require_object(request.data))
        serializer.is_valid(raise_exception=True)
        model = reject_scoring_model(
            actor=request.user, version=int(version or 0), comment=serializer.validated_data["comment"]
        )
        return Response(ScoringModelSerializer(model).data)
