"""The lead API: thin views over ``leads.ingest`` and ``leads.selectors``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from pydantic import BaseModel, ConfigDict, Field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.models import Scope
from core.pagination import page_class
from core.permissions import API_PERMISSIONS, may_read
from core.serializers import (
    StrictModelSerializer,
    StrictSerializer,
    batch_items,
    per_item_schema,
    require_object,
)
from core.text import no_control_characters
from leads.duplicates import REASONS, duplicates_of
from leads.fields import ANSWER_NAMES, CHOICE_NAMES, DETAIL_NAMES
from leads.filters import LeadApiFilter
from leads.ingest import MAX_BATCH, IngestResult, update_lead, upsert_leads
from leads.merge import merge_leads
from leads.models import Lead, Note, Seniority, Source
from leads.notes import add_note
from leads.schemas import LeadIn, LeadPatch, validate_lead
from leads.selectors import get_lead_for, leads_visible_to


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _choice_or_null(name: str) -> Any:
    return lambda lead: getattr(lead, name) or None


class LeadSerializer(serializers.ModelSerializer):
    """Lead output. The declared fields describe it in the schema; ``to_representation`` builds it directly,
    since DRF's per-instance field construction would dominate a single-lead request."""

    seniority = serializers.ChoiceField(choices=Seniority.choices, allow_null=True, read_only=True)
    source = serializers.ChoiceField(choices=Source.choices, allow_null=True, read_only=True)
    persona = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="A user id.")
    stage = serializers.CharField(source="stage_id", read_only=True, help_text="The stage's slug.")
    attributes = serializers.DictField(read_only=True)
    # Output fields that are not the model attribute of the same name; every other field is.
    _computed: dict[str, Any] = {
        # The table stores "" for a choice never made; the API answers null (never a value outside the enum).
        **{name: _choice_or_null(name) for name in CHOICE_NAMES},
        "persona": lambda lead: lead.persona.slug if lead.persona_id else None,
        "campaign": lambda lead: lead.campaign.slug if lead.campaign_id else None,
        "owner": lambda lead: lead.owner_id,
        "stage": lambda lead: lead.stage_id,
        "sla_due_at": lambda lead: _iso(lead.sla_due_at),
        "created_at": lambda lead: _iso(lead.created_at),
        "updated_at": lambda lead: _iso(lead.updated_at),
    }

    def to_representation(self, lead: Lead) -> dict[str, Any]:
        computed = self._computed
        return {
            name: computed[name](lead) if name in computed else getattr(lead, name)
            for name in self.Meta.fields
        }

    class Meta:
        model = Lead
        fields = list(ANSWER_NAMES)
        read_only_fields = fields


class ScoreLineSerializer(serializers.Serializer):
    rule = serializers.CharField()
    points = serializers.IntegerField()


class LeadDetailSerializer(LeadSerializer):
    score_breakdown = ScoreLineSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, *DETAIL_NAMES]
        read_only_fields = fields


class LeadBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=per_item_schema("leads"))

    leads: list[LeadIn] = Field(min_length=1, max_length=MAX_BATCH)  # type: ignore[valid-type]


# What a client that may not read leads (an ingest-only token) learns of an upsert.
IngestAckSerializer = inline_serializer(
    name="IngestAck",
    fields={
        "id": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=["created", "updated"]),
    },
)


class NoteSerializer(StrictModelSerializer):
    body = serializers.CharField(max_length=5000, validators=[no_control_characters])

    class Meta:
        model = Note
        fields = ["id", "lead", "author", "body", "created_at"]
        read_only_fields = ["id", "lead", "author", "created_at"]


# The answer of every batch endpoint (leads, activities).
BatchResultSerializer = inline_serializer(
    name="BatchResult",
    fields={
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "errors": serializers.IntegerField(),
        "results": inline_serializer(
            name="BatchItemResult",
            many=True,
            fields={
                "index": serializers.IntegerField(),
                "status": serializers.ChoiceField(choices=["created", "updated", "error"]),
                "id": serializers.IntegerField(allow_null=True),
                "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
        ),
    },
)


class DuplicateSerializer(serializers.Serializer):
    lead = LeadSerializer()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=list(REASONS.items())),
        help_text="name: same name and company; phone: same phone (E.164); external_id: same external id.",
    )


class MergeSerializer(StrictSerializer):
    other = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The lead merged into this one."
    )


def batch_response(result: IngestResult) -> Response:
    """The per-item answer of a batch endpoint."""
    return Response(
        {
            "created": result.created,
            "updated": result.updated,
            "errors": result.errors,
            "results": [r.as_dict() for r in result.results],
        }
    )


class LeadViewSet(
    IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Leads: upsert by e-mail (single and batch), list, read and change."""

    permission_classes = API_PERMISSIONS
    required_scopes = {
        "create": Scope.INGEST,
        "batch": Scope.INGEST,
        "list": Scope.READ,
        "retrieve": Scope.READ,
        "partial_update": Scope.WRITE,
        "notes": Scope.WRITE,
        "duplicates": Scope.READ,
        "merge": Scope.WRITE,
    }
    serializer_class = LeadSerializer
    pagination_class = page_class(size=50, maximum=500)
    filterset_class = LeadApiFilter
    ordering_fields = ["score", "created_at", "updated_at"]
    ordering = "-created_at"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Lead]:
        return leads_visible_to(self.request.user)

    def get_object(self) -> Lead:
        return get_lead_for(self.request.user, self.kwargs["pk"])

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return LeadSerializer if self.action == "list" else LeadDetailSerializer

    @extend_schema(
        request=LeadIn,
        responses={
            200: PolymorphicProxySerializer(
                component_name="LeadUpserted",
                serializers=[LeadDetailSerializer, IngestAckSerializer],
                resource_type_field_name=None,
            ),
            201: PolymorphicProxySerializer(
                component_name="LeadUpserted",
                serializers=[LeadDetailSerializer, IngestAckSerializer],
                resource_type_field_name=None,
            ),
        },
        description="Upsert one lead by e-mail: 201 when created, 200 when updated. Fields absent stay. "
        "The answer is the lead's detail when the client may read leads, otherwise only its id and status.",
    )
    def create(self, request: Request) -> Response:
        # An ingest-only client learns whether it created or updated, never what is stored: knowing an
        # e-mail address must not be a way to read a lead. A client that may read gets the lead as the
        # upsert stored it (every role sees every lead: ``leads.selectors``).
        readable = may_read(request)
        result = upsert_leads(items=[require_object(request.data)], answer=readable).results[0]
        if result.status == "error":
            raise ValidationProblem(result.errors)
        code = status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK
        if not readable:
            return Response({"id": result.id, "status": result.status}, status=code)
        lead = result.lead if result.lead is not None else get_lead_for(request.user, result.id)
        return Response(LeadDetailSerializer(lead).data, status=code)

    @extend_schema(
        request=LeadBatchIn,
        responses={200: BatchResultSerializer},
        description="Upsert 1 to 1000 leads; each item gets its own result; bad items never block good ones.",
    )
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        return batch_response(upsert_leads(items=batch_items(request.data, key="leads", limit=MAX_BATCH)))

    @extend_schema(
        request=LeadPatch,
        responses={200: LeadDetailSerializer},
        description="Change lead fields: marketing and managers any lead, a sales rep the leads it owns "
        "(403 otherwise). Each change is recorded on the lead's timeline and in the audit trail.",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        lead = get_lead_for(request.user, pk, write=True)
        cleaned, errors = validate_lead(require_object(request.data), partial=True)
        if errors:
            raise ValidationProblem(errors)
        lead = update_lead(lead=lead, fields=cleaned or {}, actor=request.user)
        return Response(LeadDetailSerializer(get_lead_for(request.user, lead.pk)).data)

    @extend_schema(request=NoteSerializer, responses={201: NoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        serializer = NoteSerializer(data=require_object(request.data))
        serializer.is_valid(raise_exception=True)
        note = add_note(lead=lead, author=request.user, body=serializer.validated_data["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: DuplicateSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def duplicates(self, request: Request, pk: str | None = None) -> Response:
        """Likely duplicates of the lead (among the leads the caller may see), each with its reasons."""
        lead = self.get_object()
        visible = leads_visible_to(request.user).select_related("persona", "campaign")
        found = duplicates_of(lead=lead, leads=visible)
        return Response([{"lead": LeadSerializer(d.lead).data, "reasons": list(d.reasons)} for d in found])

    @extend_schema(
        request=MergeSerializer,
        responses={200: LeadDetailSerializer},
        description="Merge lead `other` into this lead (managers); 409 if either waits in a hand-off.",
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        serializer = MergeSerializer(data=require_object(request.data))
        serializer.is_valid(raise_exception=True)
        merge_leads(survivor_id=lead.pk, other_id=serializer.validated_data["other"], actor=request.user)
        return Response(LeadDetailSerializer(get_lead_for(request.user, lead.pk)).data)
