from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel import promotion
from funnel.models import Handoff
from leads.models import Activity, LostReason, Note, Stage, Transition
from leads.pipeline import time_in_stages
from tests.conftest import client_for
from tests.factories import LeadFactory
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


def move(user, lead, **body):
    return client_for(user).post(f"/api/v1/leads/{lead.pk}/move/", body, format="json")


def test_stages_are_listed_in_order(marketer):
    response = client_for(marketer).get("/api/v1/stages/")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()] == [
        "inquiry",
        "mql",
        "sal",
        "sql",
        "opportunity",
        "won",
        "lost",
        "nurture",
    ]
    assert response.json()[1] == {
        "slug": "mql",
        "name": "MQL",
        "kind": "mql",
        "order": 20,
        "team": "marketing",
        "sla_hours": 24,
    }


def test_reject_reasons_are_listed(rep):
    response = client_for(rep).get("/api/v1/reject-reasons/")
    assert response.status_code == 200
    assert response.json()[0] == {"slug": "not-a-decision-maker", "label": "Not a decision-maker"}
    assert len(response.json()) == 8


def test_anonymous_and_roleless_users_cannot_read_stages(anonymous, nobody):
    assert anonymous.get("/api/v1/stages/").status_code == 401
    assert client_for(nobody).get("/api/v1/stages/").status_code == 403


def test_a_senseless_move_is_a_400_naming_the_allowed_moves(manager):
    lead = LeadFactory()
    response = move(manager, lead, stage="won", amount="10")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    message = response.json()["errors"]["stage"][0]
    assert "Allowed moves: mql, nurture" in message
    assert Transition.objects.filter(lead=lead).count() == 0


def test_nothing_moves_out_of_won(manager):
    lead = LeadFactory(stage="won")
    response = move(manager, lead, stage="sal")
    assert response.status_code == 400
    assert "Allowed moves: none" in response.json()["errors"]["stage"][0]


def test_an_unknown_stage_is_a_400(manager):
    response = move(manager, LeadFactory(), stage="heaven")
    assert response.status_code == 400


def test_opportunity_and_won_require_a_non_negative_amount(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    assert "amount" in move(rep, lead, stage="opportunity").json()["errors"]
    assert "amount" in move(rep, lead, stage="opportunity", amount="-1").json()["errors"]
    response = move(rep, lead, stage="opportunity", amount="12500.50", reason="Budget confirmed")
    assert response.status_code == 200, response.content
    assert response.json()["transition"]["amount"] == "12500.50"
    response = move(rep, lead, stage="won", amount="12000")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("won", rep.pk)  # the deal stays the rep's who won it
    t = Transition.objects.get(lead=lead, to_stage__slug="won")
    assert (t.actor, str(t.amount), t.from_stage.slug) == (rep, "12000.00", "opportunity")


def test_sales_moves_through_its_stages_and_back_to_nurture(rep):
    lead = LeadFactory(stage="sal", owner=rep)
    assert move(rep, lead, stage="sql").status_code == 200
    response = move(rep, lead, stage="nurture", reason="Timing: next year")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("nurture", None)
    assert Transition.objects.get(lead=lead, to_stage__slug="nurture").reason == "Timing: next year"


def test_a_marketer_cannot_move_leads_between_sales_stages(marketer):
    lead = LeadFactory(stage="sal")
    assert move(marketer, lead, stage="sql").status_code == 403
    lead.refresh_from_db()
    assert lead.stage_id == "sal"


def test_marketing_moves_a_nurtured_lead_back_to_mql_and_it_is_handed_off(marketer, rep, scoring_model):
    lead = LeadFactory(stage="nurture", country="DE")
    response = move(marketer, lead, stage="mql", reason="Asked for a demo at the fair")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("mql", rep.pk)
    assert Handoff.objects.get(lead=lead, status="open").rep == rep
    assert Transition.objects.get(lead=lead, to_stage__slug="mql").actor == marketer


def test_moving_mql_to_sal_is_an_accept(scoring_model, rep):
    lead = qualified()
    promotion.promote_qualified_leads()
    assert move(rep, lead, stage="sal").status_code == 200
    assert Handoff.objects.get(lead=lead).status == "accepted"


def test_a_move_payload_with_unknown_or_malformed_fields_is_a_400(manager):
    lead = LeadFactory()
    assert move(manager, lead, stage="mql", owner=3).status_code == 400
    assert (
        client_for(manager).post(f"/api/v1/leads/{lead.pk}/move/", [1, 2], format="json").status_code == 400
    )
    assert move(manager, lead, stage="mql", amount="lots").status_code == 400
    assert move(manager, lead, stage="mql\x00").status_code == 400


def test_transitions_list_every_move_newest_first(rep, marketer):
    lead = LeadFactory(stage="sal", owner=rep)
    move(rep, lead, stage="sql")
    move(rep, lead, stage="opportunity", amount="100")
    response = client_for(marketer).get(f"/api/v1/leads/{lead.pk}/transitions/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["from"], r["to"]) for r in rows] == [("sql", "opportunity"), ("sal", "sql")]
    assert set(rows[0]) >= {"from", "to", "at", "actor", "reason", "amount"}
    assert rows[0]["actor"] == rep.pk
    assert rows[0]["amount"] == "100.00"


def test_time_in_stage_is_derived_from_the_transitions():
    lead = LeadFactory()
    inquiry, mql = Stage.objects.get(slug="inquiry"), Stage.objects.get(slug="mql")
    start = timezone.now() - timedelta(days=3)
    t1 = Transition.objects.create(lead=lead, to_stage=inquiry, at=start)
    t2 = Transition.objects.create(lead=lead, from_stage=inquiry, to_stage=mql, at=start + timedelta(days=2))
    stays = time_in_stages(transitions=[t2, t1], now=start + timedelta(days=3))
    assert [(s["stage"].slug, s["duration"]) for s in stays] == [
        ("inquiry", timedelta(days=2)),
        ("mql", timedelta(days=1)),
    ]


def test_the_timeline_merges_activities_moves_and_notes_newest_first(
    marketer, rep, django_assert_max_num_queries
):
    lead = LeadFactory(stage="sal", owner=rep)
    base = timezone.now() - timedelta(days=1)
    Activity.objects.create(lead=lead, type="page_view", occurred_at=base)
    with time_machine.travel(base + timedelta(hours=1)):
        move(rep, lead, stage="sql")
    with time_machine.travel(base + timedelta(hours=2)):
        Note.objects.create(lead=lead, author=marketer, body="Met at the fair")
    Activity.objects.create(lead=lead, type="demo_request", occurred_at=base + timedelta(hours=3))
    client = client_for(marketer)
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/leads/{lead.pk}/timeline/")
    assert response.status_code == 200
    body = response.json()
    assert [item["type"] for item in body["results"]] == ["activity", "note", "transition", "activity"]
    assert body["results"][0]["kind"] == "demo_request"
    assert body["results"][2]["to"] == "sql"
    assert body["next"] is None
    assert body["previous"] is None
    page = client.get(f"/api/v1/leads/{lead.pk}/timeline/?page_size=3").json()
    assert len(page["results"]) == 3
    assert "cursor=" in page["next"]
    second = client.get(page["next"]).json()
    assert [item["type"] for item in second["results"]] == ["activity"]
    assert second["previous"] is not None
    back = client.get(second["previous"]).json()
    assert back["results"] == page["results"]
    assert back["previous"] is None
    assert client.get(f"/api/v1/leads/{lead.pk}/timeline/?page_size=0").status_code == 400
    assert client.get(f"/api/v1/leads/{lead.pk}/timeline/?cursor=forged").status_code == 400


def test_an_out_of_range_lead_id_is_a_404_not_a_server_error(manager):
    client = client_for(manager)
    for path in ("accept/", "reject/", "move/", "assign/", "transitions/", "timeline/"):
        url = f"/api/v1/leads/{'9' * 30}/{path}"
        response = (
            client.get(url) if path in ("transitions/", "timeline/") else client.post(url, {}, format="json")
        )
        assert response.status_code == 404, (path, response.status_code)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(
        st.sampled_from(["stage", "reason", "amount", "note", "owner", "x"]), json_values, max_size=4
    ),
    path=st.sampled_from(["move", "reject", "assign", "accept"]),
)
def test_no_payload_makes_a_funnel_action_fail_with_a_server_error(manager, body, path):
    lead = LeadFactory(stage="sql")
    response = client_for(manager).post(f"/api/v1/leads/{lead.pk}/{path}/", body, format="json")
    assert response.status_code < 500, response.content


# --- Who may move a lead (API.md) ---------------------------------------------------------------------------


def test_a_rep_cannot_move_a_lead_in_a_marketing_stage(rep):
    lead = LeadFactory(stage="inquiry")
    response = move(rep, lead, stage="nurture")
    assert response.status_code == 403
    assert "moved by marketing" in response.json()["detail"]
    lead.refresh_from_db()
    assert lead.stage_id == "inquiry"
    assert not Transition.objects.filter(lead=lead).exists()


def test_only_the_owner_moves_a_lead_in_a_sales_stage(rep, other_rep):
    lead = LeadFactory(stage="sql", owner=rep)
    assert move(other_rep, lead, stage="lost", lost_reason="timing", reason="Not mine").status_code == 403
    lead.refresh_from_db()
    assert lead.stage_id == "sql"
    assert move(rep, lead, stage="lost", lost_reason="timing", reason="Chose to wait").status_code == 200


def test_lost_reasons_are_a_managed_list(rep):
    response = client_for(rep).get("/api/v1/lost-reasons/")
    assert response.status_code == 200
    assert [r["slug"] for r in response.json()] == [
        "price",
        "competitor",
        "no-decision",
        "timing",
        "no-budget",
        "went-quiet",
        "other",
    ]
    LostReason.objects.filter(slug="other").update(active=False)
    assert "other" not in [r["slug"] for r in client_for(rep).get("/api/v1/lost-reasons/").json()]


def test_moving_to_lost_requires_a_known_active_lost_reason(rep):
    lead = LeadFactory(stage="opportunity", owner=rep)
    response = move(rep, lead, stage="lost", reason="They went another way")
    assert response.status_code == 400
    assert "A lost reason is required" in response.json()["errors"]["lost_reason"][0]
    assert "price, competitor" in response.json()["errors"]["lost_reason"][0]
    assert (
        "Unknown lost reason"
        in move(rep, lead, stage="lost", lost_reason="aliens").json()["errors"]["lost_reason"][0]
    )
    LostReason.objects.filter(slug="other").update(active=False)
    assert move(rep, lead, stage="lost", lost_reason="other").status_code == 400
    lead.refresh_from_db()
    assert lead.stage_id == "opportunity"
    response = move(rep, lead, stage="lost", lost_reason="competitor", reason="Chose Acme")
    assert response.status_code == 200, response.content
    assert response.json()["transition"]["lost_reason"] == "competitor"
    transition = Transition.objects.get(lead=lead, to_stage__slug="lost")
    assert (transition.lost_reason.slug, transition.reason) == ("competitor", "Chose Acme")
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("lost", rep.pk)
    history = client_for(rep).get(f"/api/v1/leads/{lead.pk}/transitions/").json()
    assert history["results"][0]["lost_reason"] == "competitor"


def test_a_lost_reason_on_any_other_move_is_a_400(rep):
    lead = LeadFactory(stage="sal", owner=rep)
    response = move(rep, lead, stage="sql", lost_reason="price")
    assert response.status_code == 400
    assert "only for a move to Lost" in response.json()["errors"]["lost_reason"][0]


def test_a_marketer_cannot_send_a_reps_opportunity_to_nurture(marketer, rep):
    lead = LeadFactory(stage="opportunity", owner=rep)
    assert move(marketer, lead, stage="nurture").status_code == 403
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("opportunity", rep.pk)


def test_a_waiting_mql_leaves_only_through_a_decision_or_a_manager(scoring_model, rep, marketer, manager):
    lead = qualified()
    promotion.promote_qualified_leads()
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("mql", rep.pk)
    assert move(rep, lead, stage="nurture").status_code == 403  # rejecting needs a reason: /reject/
    assert move(marketer, lead, stage="inquiry").status_code == 403
    assert Handoff.objects.get(lead=lead).status == "open"
    assert move(manager, lead, stage="inquiry").status_code == 200
    assert Handoff.objects.get(lead=lead).status == "withdrawn"


def test_reopening_a_lost_lead_is_for_managers(rep, marketer, manager):
    lead = LeadFactory(stage="lost", owner=rep)
    assert move(rep, lead, stage="nurture").status_code == 403
    assert move(marketer, lead, stage="nurture").status_code == 403
    assert move(manager, lead, stage="nurture").status_code == 200
    lead.refresh_from_db()
    assert lead.stage_id == "nurture"
