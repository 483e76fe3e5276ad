"""The funnel API: stages, reject reasons, accept, reject, move, assign, transitions and the timeline."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.errors import ValidationProblem
from core.idempotency import IdempotentPostMixin
from core.models import Scope
from core.pagination import page_class, whole_number
from core.permissions import API_PERMISSIONS
from core.roles import MANAGERS, ROLES, SALES
from core.serializers import StrictSerializer, no_control_characters
from funnel import handoff, moves
from leads.api import LeadSerializer
from leads.models import LostReason, RejectReason, Stage, Transition
from leads.selectors import get_lead_for
from leads.timeline import MAX_PAGE_SIZE, TYPES, lead_timeline


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["slug", "name", "kind", "order", "team", "sla_hours"]


class RejectReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectReason
        fields = ["slug", "label"]


class TransitionSerializer(serializers.ModelSerializer):
    # "from" is a Python keyword, so the fields are named in get_fields.
    at = serializers.DateTimeField()
    actor = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The user, or null."
    )
    rule = serializers.CharField(help_text="The system rule that moved the lead, when no user did.")
    reject_reason = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    lost_reason = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Transition
        fields = ["id", "at", "actor", "rule", "reason", "reject_reason", "lost_reason", "amount"]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        ordered = {
            "from": serializers.SlugRelatedField(
                source="from_stage", slug_field="slug", read_only=True, allow_null=True
            ),
            "to": serializers.SlugRelatedField(source="to_stage", slug_field="slug", read_only=True),
        }
        return {**ordered, **fields}


class RejectIn(StrictSerializer):
    reason = serializers.CharField(max_length=60, help_text="A reject reason slug.")
    note = serializers.CharField(
        max_length=handoff.NOTE_MAX, required=False, allow_blank=True, validators=[no_control_characters]
    )


class MoveIn(StrictSerializer):
    stage = serializers.CharField(max_length=40)
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, validators=[no_control_characters]
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Currency units, ≥ 0; required for opportunity and won.",
    )
    lost_reason = serializers.CharField(
        max_length=60,
        required=False,
        allow_blank=True,
        help_text="A lost reason slug; required for a move to a lost stage (see /api/v1/lost-reasons/).",
    )


class AssignIn(StrictSerializer):
    owner = serializers.IntegerField(min_value=1, help_text="The user id of an active sales rep.")


class EmptyIn(StrictSerializer):
    pass


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    if data is None or data == "":
        data = {}
    if not isinstance(data, dict):
        raise ValidationProblem({"non_field_errors": ["Expected a JSON object."]})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


MoveResult = inline_serializer(
    name="FunnelMoveResult",
    fields={"transition": TransitionSerializer(), "lead": LeadSerializer()},
)


def _moved(transition: Transition, lead_id: int, user: Any) -> Response:
    transition = Transition.objects.select_related(
        "from_stage", "to_stage", "reject_reason", "lost_reason"
    ).get(pk=transition.pk)
    lead = get_lead_for(user, lead_id)
    return Response({"transition": TransitionSerializer(transition).data, "lead": LeadSerializer(lead).data})


class StageList(ListAPIView):
    """The funnel's stages, in order."""

    permission_classes = API_PERMISSIONS
    serializer_class = StageSerializer
    pagination_class = None
    queryset = Stage.objects.all()


class LostReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["slug", "label"]


class LostReasonList(ListAPIView):
    """The reasons a deal may be lost for (required when moving a lead to a lost stage)."""

    permission_classes = API_PERMISSIONS
    serializer_class = LostReasonSerializer
    pagination_class = None
    queryset = LostReason.objects.filter(active=True)


class RejectReasonList(ListAPIView):
    """The reasons a rep may give for rejecting a hand-off."""

    permission_classes = API_PERMISSIONS
    serializer_class = RejectReasonSerializer
    pagination_class = None
    queryset = RejectReason.objects.filter(active=True)


class _LeadAction(IdempotentPostMixin, APIView):
    permission_classes = API_PERMISSIONS
    required_scopes = {"post": Scope.WRITE, "get": Scope.READ}


class AcceptLead(_LeadAction):
    allowed_roles = {"post": (SALES, MANAGERS)}

    @extend_schema(
        request=None,
        responses={200: MoveResult},
        description="Accept a hand-off (its owner or a manager): MQL → SAL. 409 if no longer waiting.",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = get_lead_for(request.user, lead_id)
        _validated(EmptyIn, request.data)
        return _moved(handoff.accept_lead(lead_id=lead.pk, actor=request.user), lead.pk, request.user)


class RejectLead(_LeadAction):
    allowed_roles = {"post": (SALES, MANAGERS)}

    @extend_schema(
        request=RejectIn,
        responses={200: MoveResult},
        description="Reject a hand-off with a reason and an optional note: MQL → Nurture.",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = get_lead_for(request.user, lead_id)
        data = _validated(RejectIn, request.data)
        transition = handoff.reject_lead(
            lead_id=lead.pk, actor=request.user, reason=data["reason"], note=data.get("note", "")
        )
        return _moved(transition, lead.pk, request.user)


class MoveLead(_LeadAction):
    allowed_roles = {"post": ROLES}

    @extend_schema(
        request=MoveIn,
        responses={200: MoveResult},
        description="Move a lead to another stage; a move that makes no sense is a 400 naming the "
        "allowed moves. Each team moves leads out of and into its own stages; managers move any.",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = get_lead_for(request.user, lead_id)
        data = _validated(MoveIn, request.data)
        transition = moves.move_lead(
            lead_id=lead.pk,
            to_slug=data["stage"],
            actor=request.user,
            reason=data.get("reason", ""),
            amount=data.get("amount"),
            lost_reason=data.get("lost_reason", ""),
        )
        return _moved(transition, lead.pk, request.user)


class AssignLead(_LeadAction):
    allowed_roles = {"post": (MANAGERS,)}

    @extend_schema(
        request=AssignIn,
        responses={200: LeadSerializer},
        description="A manager hands the lead to another rep; a waiting hand-off gets a new SLA clock.",
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = get_lead_for(request.user, lead_id)
        data = _validated(AssignIn, request.data)
        handoff.assign_lead(lead_id=lead.pk, actor=request.user, owner_id=data["owner"])
        return Response(LeadSerializer(get_lead_for(request.user, lead.pk)).data)


class LeadTransitions(_LeadAction):
    allowed_roles = {"get": ROLES}
    pagination_class = page_class(size=100, maximum=500)
    ordering = "-at"

    @extend_schema(
        responses={200: TransitionSerializer(many=True)},
        description="Every stage move of the lead, newest first, keyset-paginated.",
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = get_lead_for(request.user, lead_id)
        rows = Transition.objects.filter(lead=lead).select_related(
            "from_stage", "to_stage", "reject_reason", "lost_reason"
        )
        pager = self.pagination_class()
        page = pager.paginate_queryset(rows, request, view=self)
        return pager.get_paginated_response(TransitionSerializer(page, many=True).data)


class TimelineItemSerializer(serializers.Serializer):
    """One item of the timeline; besides these, each type has fields of its own."""

    type = serializers.ChoiceField(choices=list(TYPES))
    at = serializers.DateTimeField()
    id = serializers.IntegerField()
    summary = serializers.CharField()


class LeadTimeline(_LeadAction):
    allowed_roles = {"get": ROLES}
    pagination_class = page_class(size=50, maximum=MAX_PAGE_SIZE)

    @extend_schema(
        responses={200: TimelineItemSerializer(many=True)},
        description="Activities, stage moves, notes and field changes, newest first, keyset-paginated in the "
        "order (time, type, id). Activities add kind and metadata; moves from, to, actor, actor_name, rule, "
        "reason, reject_reason, lost_reason, amount; notes author and author_name; changes actor, actor_name "
        "and changes [{field, from, to}].",
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = get_lead_for(request.user, lead_id)
        pager = self.pagination_class()
        size = whole_number(
            request, pager.page_size_query_param, default=pager.page_size, maximum=MAX_PAGE_SIZE
        )
        page = lead_timeline(lead=lead, cursor=request.query_params.get(pager.cursor_query_param), limit=size)

        def link(cursor: str | None) -> str | None:
            if cursor is None:
                return None
            return replace_query_param(request.build_absolute_uri(), pager.cursor_query_param, cursor)

        return Response(
            {"next": link(page.next_cursor), "previous": link(page.previous_cursor), "results": page.items}
        )
