"""The funnel writes its webhook events to the outbox where they happen."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.core.serializers.json import DjangoJSONEncoder

from core.models import WebhookEndpoint, WebhookEvent, WebhookEventType
from funnel import promotion, sla
from funnel.events import handoff_data
from funnel.handoff import accept_lead, assign_lead, reject_lead
from funnel.models import Handoff
from leads.events import lead_data
from leads.models import RejectReason, Transition
from leads.pipeline import _stage_change
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed_to_all(manager):
    return WebhookEndpoint.objects.create(
        url="https://hooks.example.com/in", events=list(WebhookEventType.values), secret="whsec_test"
    )


def events():
    return [(e.event, e.data) for e in WebhookEvent.objects.order_by("pk")]


def test_promotion_emits_qualified_assigned_and_the_stage_change(subscribed_to_all, scoring_model, rep):
    leads = [qualified(), qualified()]
    promotion.promote_qualified_leads()
    names = [name for name, _ in events()]
    assert names.count("lead.qualified") == 2
    assert names.count("handoff.assigned") == 2
    assert names.count("lead.stage_changed") == 2
    moved = [data for name, data in events() if name == "lead.stage_changed"]
    assert {(d["lead"]["id"], d["from"], d["to"]) for d in moved} == {
        (lead.pk, "inquiry", "mql") for lead in leads
    }
    assigned = [data for name, data in events() if name == "handoff.assigned"]
    assert {d["handoff"]["rep"] for d in assigned} == {rep.pk}
    assert {d["lead"]["stage"] for d in assigned} == {"mql"}


def test_accept_reject_reassign_and_breach_each_emit_their_event(
    subscribed_to_all, scoring_model, rep, other_rep, manager
):
    first, second, third = qualified(), qualified(), qualified()
    with time_machine.travel("2026-05-04 08:00:00Z", tick=False):
        promotion.promote_qualified_leads()
    WebhookEvent.objects.all().delete()
    owner = {h.lead_id: h.rep for h in Handoff.objects.all()}
    accept_lead(lead_id=first.pk, actor=owner[first.pk])
    reason = RejectReason.objects.filter(active=True).first()
    reject_lead(lead_id=second.pk, actor=owner[second.pk], reason=reason.slug)
    with time_machine.travel("2026-05-04 09:00:00Z", tick=False):
        assign_lead(
            lead_id=third.pk, actor=manager, owner_id=other_rep.pk if owner[third.pk] == rep else rep.pk
        )
    with time_machine.travel("2026-05-30 08:00:00Z", tick=False):
        sla.mark_breaches()
    by_name = {}
    for name, data in events():
        by_name.setdefault(name, []).append(data)
    assert [d["lead"]["id"] for d in by_name["handoff.accepted"]] == [first.pk]
    assert by_name["handoff.accepted"][0]["lead"]["stage"] == "sal"
    assert [d["lead"]["id"] for d in by_name["handoff.rejected"]] == [second.pk]
    assert by_name["handoff.rejected"][0]["handoff"]["reject_reason"] == reason.slug
    assert [d["lead"]["id"] for d in by_name["handoff.assigned"]] == [third.pk]
    assert [d["lead"]["id"] for d in by_name["sla.breached"]] == [third.pk]
    assert {(d["from"], d["to"]) for d in by_name["lead.stage_changed"]} == {
        ("mql", "sal"),
        ("mql", "nurture"),
    }


@pytest.mark.parametrize(
    "moment",
    [
        "2026-05-04 08:00:00Z",
        "2026-05-04 08:00:00.123456Z",
        "2026-05-04 08:00:00.000500Z",
        "2026-05-04 08:00:00.999999Z",
    ],
)
def test_promotion_events_carry_the_same_data_as_the_events_built_in_python(
    subscribed_to_all, scoring_model, rep, moment
):
    leads = [
        qualified(first_name="Jane", last_name="Doe", company="Acme", country="DE", external_id="crm-1"),
        qualified(first_name="", last_name="", company="", country="", external_id=""),
    ]
    with time_machine.travel(moment, tick=False):
        promotion.promote_qualified_leads()
    handoffs = {h.lead_id: h for h in Handoff.objects.select_related("reject_reason")}
    moves = {t.lead_id: t for t in Transition.objects.filter(to_stage__slug="mql").select_related("to_stage")}
    ids = [lead.pk for lead in leads]
    current = lead_data(lead_ids=ids)
    expected = {
        "lead.qualified": [{"lead": current[pk]} for pk in ids],
        "handoff.assigned": [{"lead": current[pk], "handoff": handoff_data(handoffs[pk])} for pk in ids],
        "lead.stage_changed": [
            {"lead": current[pk], **_stage_change(moves[pk], from_slug="inquiry")} for pk in ids
        ],
    }
    # Stored and read back as JSON, as the outbox sends them.
    expected = json.loads(json.dumps(expected, cls=DjangoJSONEncoder))
    written = {}
    for name, data in events():
        written.setdefault(name, []).append(data)
    assert written == expected
    assert current[ids[0]]["sla_due_at"] is not None
