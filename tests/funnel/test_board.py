"""The pipeline board (/pipeline/): columns, cards, totals, who sees what, and moves through the one move
function with the permission rule of API.md."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leads.models import Transition
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db


def columns(response) -> dict[str, list[str]]:
    return {c.stage.slug: [card.lead.email for card in c.cards] for c in response.context["columns"]}


def test_a_rep_sees_own_leads_by_default_with_totals_per_column(client, rep, other_rep):
    mine = lead_in_stage("opportunity", owner=rep, amount="12000", days_ago=3, email="mine@example.com")
    lead_in_stage("opportunity", owner=rep, amount="3000", email="mine2@example.com")
    lead_in_stage("opportunity", owner=other_rep, amount="50000", email="theirs@example.com")
    lead_in_stage("sql", owner=rep, email="sql@example.com")
    client.force_login(rep)
    response = client.get("/pipeline/")
    assert response.status_code == 200
    got = columns(response)
    assert list(got) == ["sal", "sql", "opportunity", "won", "lost"]
    assert got["opportunity"] == ["mine@example.com", "mine2@example.com"]  # oldest in stage first
    assert got["sql"] == ["sql@example.com"]
    opportunity = response.context["columns"][2]
    assert (opportunity.count, opportunity.amount) == (2, Decimal("15000.00"))
    card = opportunity.cards[0]
    assert (card.lead.pk, card.amount, card.days_in_stage) == (mine.pk, Decimal("12000.00"), 3)
    assert "€ 15,000" in response.content.decode()
    assert "theirs@example.com" in columns(client.get("/pipeline/?rep=all"))["opportunity"]


def test_a_manager_sees_everyone_and_filters_by_rep(client, manager, rep, other_rep):
    lead_in_stage("sal", owner=rep, email="a@example.com")
    lead_in_stage("sal", owner=other_rep, email="b@example.com")
    client.force_login(manager)
    assert columns(client.get("/pipeline/"))["sal"] == ["a@example.com", "b@example.com"]
    assert columns(client.get(f"/pipeline/?rep={other_rep.pk}"))["sal"] == ["b@example.com"]


def test_closed_columns_show_only_the_last_thirty_days(client, rep):
    lead_in_stage("won", owner=rep, amount="900", days_ago=2, email="recent@example.com")
    lead_in_stage("won", owner=rep, amount="900", days_ago=45, email="old@example.com")
    client.force_login(rep)
    assert columns(client.get("/pipeline/"))["won"] == ["recent@example.com"]


def test_cards_offer_only_the_moves_the_user_may_make(client, rep, other_rep, marketer):
    lead = lead_in_stage("sql", owner=rep, email="x@example.com")
    client.force_login(rep)
    card = client.get("/pipeline/").context["columns"][1].cards[0]
    assert [t.slug for t in card.targets] == ["sal", "opportunity", "lost", "nurture"]
    assert [t.needs_amount for t in card.targets] == [False, True, False, False]
    client.force_login(other_rep)
    card = client.get("/pipeline/?rep=all").context["columns"][1].cards[0]
    assert card.lead.pk == lead.pk
    assert card.targets == []
    client.force_login(marketer)
    response = client.get("/pipeline/")
    assert response.context["columns"][1].cards[0].targets == []
    assert "Move to" not in response.content.decode()


def test_a_rep_moves_a_card_through_the_one_move_function(client, rep):
    lead = lead_in_stage("sql", owner=rep)
    client.force_login(rep)
    response = client.post(
        f"/pipeline/{lead.pk}/move/", {"stage": "opportunity", "amount": "25000", "reason": "Proposal sent"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/pipeline/"
    lead.refresh_from_db()
    assert lead.stage_id == "opportunity"
    move = Transition.objects.filter(lead=lead).latest("at", "id")
    assert (move.from_stage.slug, move.actor, move.amount, move.reason) == (
        "sql",
        rep,
        Decimal("25000.00"),
        "Proposal sent",
    )
    assert "moved to Opportunity" in client.get("/pipeline/").content.decode()


def test_a_move_without_the_required_amount_is_refused_with_a_message(client, rep):
    lead = lead_in_stage("opportunity", owner=rep, amount="100")
    client.force_login(rep)
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage": "won"}, follow=True)
    assert "An amount" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage_id == "opportunity"


def test_losing_a_deal_on_the_board_asks_for_a_lost_reason_from_the_list(client, rep):
    lead = lead_in_stage("opportunity", owner=rep, amount="100")
    client.force_login(rep)
    page = client.get("/pipeline/")
    lost = next(t for t in page.context["columns"][2].cards[0].targets if t.kind == "lost")
    assert [r.slug for r in lost.lost_reasons][:3] == ["price", "competitor", "no-decision"]
    html = page.content.decode()
    assert f'<select id="lost-reason-{lead.pk}-lost" name="lost_reason" required>' in html
    assert '<option value="went-quiet">Went quiet</option>' in html
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage": "lost", "reason": "x"}, follow=True)
    assert "A lost reason is required" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage_id == "opportunity"
    client.post(f"/pipeline/{lead.pk}/move/", {"stage": "lost", "lost_reason": "price"})
    lead.refresh_from_db()
    assert lead.stage_id == "lost"
    assert Transition.objects.get(lead=lead, to_stage__slug="lost").lost_reason.slug == "price"


def test_a_marketer_cannot_move_a_reps_lead_on_the_board(client, marketer, rep):
    lead = lead_in_stage("opportunity", owner=rep, amount="100")
    client.force_login(marketer)
    response = client.post(f"/pipeline/{lead.pk}/move/", {"stage": "nurture", "reason": "x"})
    assert response.status_code == 403
    assert "Only the lead&#x27;s owner or a manager" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage_id == "opportunity"


@pytest.mark.parametrize(
    "body", [{}, {"stage": "won", "amount": "-5"}, {"stage": "nowhere"}, {"stage": "\x00"}]
)
def test_bad_move_input_never_moves_the_lead_or_fails(client, rep, body):
    lead = lead_in_stage("opportunity", owner=rep, amount="100")
    client.force_login(rep)
    response = client.post(f"/pipeline/{lead.pk}/move/", body)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage_id == "opportunity"


def test_the_board_costs_the_same_whatever_the_pipeline_size(client, rep, django_assert_max_num_queries):
    for index in range(40):
        lead_in_stage(
            ["sal", "sql", "opportunity"][index % 3], owner=rep, amount="10" if index % 3 == 2 else None
        )
    client.force_login(rep)
    # session, user, roles, stages, lost reasons, reps, and two queries per column (totals, cards)
    with django_assert_max_num_queries(18):
        response = client.get("/pipeline/")
    assert sum(c.count for c in response.context["columns"]) == 40


def test_anonymous_visitors_are_sent_to_log_in_and_the_roleless_are_refused(client, nobody):
    assert client.get("/pipeline/").status_code == 302
    client.force_login(nobody)
    assert client.get("/pipeline/").status_code == 403


def test_the_lead_page_offers_the_same_moves_and_comes_back_to_the_lead(client, rep):
    lead = lead_in_stage("sql", owner=rep)
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}/")
    assert [t.slug for t in page.context["targets"]] == ["sal", "opportunity", "lost", "nurture"]
    assert "Move to Opportunity" in page.content.decode()
    response = client.post(
        f"/pipeline/{lead.pk}/move/",
        {"stage": "sal", "reason": "Needs discovery again", "next": f"/leads/{lead.pk}/"},
    )
    assert response["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.stage_id == "sal"
    assert (
        client.post(f"/pipeline/{lead.pk}/move/", {"stage": "sql", "next": "https://evil.example/"})[
            "Location"
        ]
        == "/pipeline/"
    )
