from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.models import AuditEvent
from funnel import deadlines, handoff, promotion
from funnel.models import Handoff, RepProfile
from leads.ingest import upsert_leads
from leads.models import Activity, Lead, Market, Transition
from scoring.models import ScoringModel
from scoring.signals import leads_scored
from tests.conftest import client_for
from tests.factories import LeadFactory, UserFactory
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


def test_new_leads_start_in_inquiry_with_a_first_transition():
    result = upsert_leads(items=[{"email": "a@example.com"}, {"email": "b@example.com"}])
    transitions = Transition.objects.filter(lead_id__in=result.lead_ids)
    assert transitions.count() == 2
    assert {(t.from_stage_id, t.to_stage.slug, t.rule) for t in transitions} == {(None, "inquiry", "ingest")}
    upsert_leads(items=[{"email": "a@example.com", "company": "Acme"}])
    assert Transition.objects.count() == 2  # an update is no new lead


def test_scored_leads_are_queued_for_promotion_when_the_scores_commit(
    scoring_model, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("funnel.receivers.enqueue_on_commit", lambda task, **kw: sent.append((task.name, kw)))
    leads_scored.send(sender=Lead, lead_ids=[3, 1, 2])
    assert sent == [("funnel.tasks.promote_leads_task", {"lead_ids": [1, 2, 3]})]


def test_qualified_inquiries_become_mqls_handed_round_robin(scoring_model, rep, other_rep):
    leads = [qualified() for _ in range(4)]
    below = LeadFactory(score=59, grade="A")
    wrong_grade = LeadFactory(score=90, grade="C")
    made = promotion.promote_qualified_leads()
    assert made == 4
    owners = [Lead.objects.get(pk=lead.pk).owner_id for lead in leads]
    assert owners == [rep.pk, other_rep.pk, rep.pk, other_rep.pk]
    for lead in leads:
        lead.refresh_from_db()
        assert lead.stage_id == "mql"
        assert lead.sla_due_at is not None
        transition = Transition.objects.get(lead=lead, to_stage__slug="mql")
        assert transition.rule == "mql-bar:v1"
        assert transition.actor is None
    below.refresh_from_db()
    wrong_grade.refresh_from_db()
    assert (below.stage_id, wrong_grade.stage_id) == ("inquiry", "inquiry")
    assert Handoff.objects.filter(status="open").count() == 4
    assert promotion.promote_qualified_leads() == 0  # nothing is handed twice


def test_the_rotation_continues_across_batches(scoring_model, rep, other_rep):
    first = qualified()
    promotion.promote_qualified_leads()
    second = qualified()
    promotion.promote_qualified_leads(lead_ids=[second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.owner_id, second.owner_id} == {rep.pk, other_rep.pk}


def test_the_deadline_comes_from_the_mql_stage_sla_hours(scoring_model, rep):
    lead = qualified()
    with time_machine.travel("2026-03-02 09:00:00Z", tick=False):
        promotion.promote_qualified_leads()
    lead.refresh_from_db()
    assert lead.sla_due_at.isoformat() == "2026-03-03T09:00:00+00:00"
    assert Handoff.objects.get(lead=lead).sla_due_at == lead.sla_due_at


def test_territory_reps_take_their_countries_and_generalists_the_rest(scoring_model, rep, other_rep):
    RepProfile.objects.create(user=rep, countries=["DE"])
    nordics = Market.objects.create(slug="nordics", name="Nordics", countries=["SE", "NO"])
    RepProfile.objects.create(user=other_rep).markets.add(nordics)
    generalist = UserFactory(username="gen", roles=["sales"])
    german, swede, french = qualified(country="DE"), qualified(country="SE"), qualified(country="FR")
    promotion.promote_qualified_leads()
    owners = {lead.country: Lead.objects.get(pk=lead.pk).owner_id for lead in (german, swede, french)}
    assert owners == {"DE": rep.pk, "SE": other_rep.pk, "FR": generalist.pk}


def test_reps_at_capacity_are_skipped_and_the_rest_wait_unassigned(scoring_model, rep, other_rep):
    RepProfile.objects.create(user=rep, capacity=1)
    RepProfile.objects.create(user=other_rep, capacity=2)
    leads = [qualified() for _ in range(5)]
    promotion.promote_qualified_leads()
    owners = [Lead.objects.get(pk=lead.pk).owner_id for lead in leads]
    assert owners.count(rep.pk) == 1
    assert owners.count(other_rep.pk) == 2
    assert owners.count(None) == 2
    assert Handoff.objects.filter(status="open", rep=None).count() == 2
    assert set(Lead.objects.values_list("stage", flat=True)) == {"mql"}


def test_inactive_reps_get_no_new_hand_offs(scoring_model, rep, other_rep):
    RepProfile.objects.create(user=rep, active=False)
    leads = [qualified() for _ in range(3)]
    promotion.promote_qualified_leads()
    assert {Lead.objects.get(pk=lead.pk).owner_id for lead in leads} == {other_rep.pk}


def test_nobody_is_promoted_without_an_active_scoring_model(rep):
    ScoringModel.objects.filter(status="active").update(status="retired")
    qualified()
    assert promotion.promote_qualified_leads() == 0


def test_a_rejected_lead_returns_to_sales_only_after_new_engagement(scoring_model, rep):
    lead = qualified()
    promotion.promote_qualified_leads()
    handoff.reject_lead(lead_id=lead.pk, actor=rep, reason="no-need")
    assert promotion.promote_qualified_leads() == 0  # still meets the bar, but nothing new happened
    Activity.objects.create(lead=lead, type="demo_request", occurred_at=timezone.now() + timedelta(seconds=1))
    assert promotion.promote_qualified_leads() == 1
    lead.refresh_from_db()
    assert lead.stage_id == "mql"
    assert Transition.objects.filter(lead=lead, from_stage__slug="nurture", to_stage__slug="mql").exists()


# --- accept / reject -------------------------------------------------------------------------------------
@pytest.fixture
def waiting(scoring_model, rep):
    lead = qualified()
    promotion.promote_qualified_leads()
    lead.refresh_from_db()
    assert lead.owner_id == rep.pk
    return lead


def test_the_owner_accepts_a_hand_off_into_sal(waiting, rep):
    response = client_for(rep).post(f"/api/v1/leads/{waiting.pk}/accept/")
    assert response.status_code == 200, response.content
    assert response.json()["transition"]["from"] == "mql"
    assert response.json()["transition"]["to"] == "sal"
    assert response.json()["lead"]["stage"] == "sal"
    waiting.refresh_from_db()
    assert (waiting.stage_id, waiting.owner_id, waiting.sla_due_at) == ("sal", rep.pk, None)
    h = Handoff.objects.get(lead=waiting)
    assert (h.status, h.closed_by_id, h.late) == ("accepted", rep.pk, False)
    assert Transition.objects.filter(lead=waiting, to_stage__slug="sal", actor=rep).count() == 1


def test_accepting_twice_is_a_conflict(waiting, rep):
    assert client_for(rep).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 200
    response = client_for(rep).post(f"/api/v1/leads/{waiting.pk}/accept/")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"


def test_a_rep_cannot_accept_another_reps_lead(waiting, other_rep):
    assert client_for(other_rep).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 403
    assert Handoff.objects.get(lead=waiting).status == "open"


def test_a_marketer_cannot_accept(waiting, marketer):
    assert client_for(marketer).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 403


def test_a_manager_may_accept_for_the_rep(waiting, manager, rep):
    assert client_for(manager).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 200
    waiting.refresh_from_db()
    assert waiting.owner_id == rep.pk


def test_a_read_only_token_cannot_accept(waiting, rep):
    assert client_for(rep, scopes=["read"]).post(f"/api/v1/leads/{waiting.pk}/accept/").status_code == 403


def test_accepting_after_the_deadline_works_and_is_recorded_as_late(waiting, rep):
    with time_machine.travel(timezone.now() + timedelta(hours=30)):
        response = client_for(rep).post(f"/api/v1/leads/{waiting.pk}/accept/")
    assert response.status_code == 200
    assert Handoff.objects.get(lead=waiting).late is True
    assert "after the deadline" in Transition.objects.get(lead=waiting, to_stage__slug="sal").reason


def test_reject_requires_a_reason(waiting, rep):
    response = client_for(rep).post(f"/api/v1/leads/{waiting.pk}/reject/", {"note": "meh"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    response = client_for(rep).post(f"/api/v1/leads/{waiting.pk}/reject/", {"reason": "bogus"}, format="json")
    assert response.status_code == 400
    assert "no-budget" in response.json()["errors"]["reason"][0]
    assert Handoff.objects.get(lead=waiting).status == "open"


def test_reject_with_a_reason_and_note_moves_the_lead_to_nurture(waiting, rep):
    response = client_for(rep).post(
        f"/api/v1/leads/{waiting.pk}/reject/",
        {"reason": "no-budget", "note": "Next fiscal year."},
        format="json",
    )
    assert response.status_code == 200, response.content
    waiting.refresh_from_db()
    assert (waiting.stage_id, waiting.owner_id) == ("nurture", None)
    h = Handoff.objects.get(lead=waiting)
    assert (h.status, h.reject_reason.slug, h.note) == ("rejected", "no-budget", "Next fiscal year.")
    t = Transition.objects.get(lead=waiting, to_stage__slug="nurture")
    assert t.reject_reason.slug == "no-budget"
    assert "Next fiscal year." in t.reason


def test_reject_refuses_unknown_fields(waiting, rep):
    response = client_for(rep).post(
        f"/api/v1/leads/{waiting.pk}/reject/", {"reason": "no-need", "stage": "won"}, format="json"
    )
    assert response.status_code == 400
    assert "stage" in response.json()["errors"]


def test_acting_on_an_unknown_lead_is_a_404(rep, db):
    assert client_for(rep).post("/api/v1/leads/999999/accept/").status_code == 404


# --- assign -----------------------------------------------------------------------------------------------
def test_a_manager_reassigns_a_waiting_lead_with_a_fresh_clock(waiting, manager, rep, other_rep):
    old_due = waiting.sla_due_at
    with time_machine.travel(timezone.now() + timedelta(hours=5)):
        response = client_for(manager).post(
            f"/api/v1/leads/{waiting.pk}/assign/", {"owner": other_rep.pk}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == other_rep.pk
    waiting.refresh_from_db()
    assert waiting.sla_due_at > old_due + timedelta(hours=4)
    assert list(Handoff.objects.filter(lead=waiting).order_by("pk").values_list("rep_id", "status")) == [
        (rep.pk, "reassigned"),
        (other_rep.pk, "open"),
    ]
    event = AuditEvent.objects.get(action="handoff.reassigned")
    assert event.actor == manager
    assert event.data["to"] == other_rep.pk
    assert event.data["from"] == rep.pk


def test_assigning_a_sales_stage_lead_changes_its_owner(waiting, manager, rep, other_rep):
    handoff.accept_lead(lead_id=waiting.pk, actor=rep)
    response = client_for(manager).post(
        f"/api/v1/leads/{waiting.pk}/assign/", {"owner": other_rep.pk}, format="json"
    )
    assert response.status_code == 200
    waiting.refresh_from_db()
    assert (waiting.owner_id, waiting.stage_id) == (other_rep.pk, "sal")
    assert AuditEvent.objects.filter(action="lead.assigned", object_id=str(waiting.pk)).count() == 1


def test_only_managers_assign_and_only_to_sales_reps(waiting, manager, rep, marketer):
    assert (
        client_for(rep)
        .post(f"/api/v1/leads/{waiting.pk}/assign/", {"owner": rep.pk}, format="json")
        .status_code
        == 403
    )
    response = client_for(manager).post(
        f"/api/v1/leads/{waiting.pk}/assign/", {"owner": marketer.pk}, format="json"
    )
    assert response.status_code == 400
    assert "owner" in response.json()["errors"]


def test_assigning_a_lead_in_inquiry_is_a_conflict(manager, rep):
    lead = LeadFactory()
    response = client_for(manager).post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": rep.pk}, format="json")
    assert response.status_code == 409


def test_the_sweep_hands_unassigned_leads_to_reps_who_have_room_again(scoring_model, rep):
    from funnel.tasks import sweep_promotions_task

    RepProfile.objects.create(user=rep, capacity=1)
    first, second = qualified(), qualified()
    assert sweep_promotions_task() == 2
    second.refresh_from_db()
    assert second.owner_id is None
    assert sweep_promotions_task() == 0  # still no room
    handoff.accept_lead(lead_id=first.pk, actor=rep)
    assert sweep_promotions_task() == 1
    second.refresh_from_db()
    assert second.owner_id == rep.pk
    assert list(Handoff.objects.filter(lead=second).order_by("pk").values_list("rep_id", "status")) == [
        (None, "reassigned"),
        (rep.pk, "open"),
    ]


def test_an_idempotent_retry_of_an_accept_replays_the_first_answer(waiting, rep):
    client = client_for(rep)
    url = f"/api/v1/leads/{waiting.pk}/accept/"
    first = client.post(url, HTTP_IDEMPOTENCY_KEY="accept-1")
    again = client.post(url, HTTP_IDEMPOTENCY_KEY="accept-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert Transition.objects.filter(lead=waiting, to_stage__slug="sal").count() == 1


def test_with_business_hours_the_clock_stops_overnight_and_at_weekends(scoring_model, rep):
    from funnel.models import FunnelSettings

    FunnelSettings.objects.update_or_create(pk=1, defaults={"business_hours_only": True})
    lead = qualified()
    with time_machine.travel("2026-03-06 15:00:00Z", tick=False):  # a Friday, 15:00 UTC (TIME_ZONE is UTC)
        promotion.promote_qualified_leads()
    lead.refresh_from_db()
    # 2 h on Friday, 8 h on Monday, 8 h on Tuesday, 6 h on Wednesday = 24 business hours.
    assert lead.sla_due_at.isoformat() == "2026-03-11T15:00:00+00:00"


def test_business_hours_start_counting_at_the_next_opening():
    from datetime import UTC, datetime

    saturday_night = datetime(2026, 3, 7, 22, 0, tzinfo=UTC)
    due = deadlines.add_business_hours(start=saturday_night, hours=3, day_start=9, day_end=17)
    assert due == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def test_a_very_large_rescore_queues_the_sweep_instead_of_a_huge_message(monkeypatch):
    sent = []
    monkeypatch.setattr("funnel.receivers.enqueue_on_commit", lambda task, **kw: sent.append((task.name, kw)))
    leads_scored.send(sender=Lead, lead_ids=list(range(1, 6002)))
    assert sent == [("funnel.tasks.sweep_promotions_task", {})]
