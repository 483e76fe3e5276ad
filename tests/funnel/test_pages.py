from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from funnel import handoff, moves, promotion
from funnel.lead_page import _context as lead_page_context
from funnel.models import Handoff
from leads.forms import NoteForm
from leads.models import Note
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


@pytest.fixture
def handed(scoring_model, rep, other_rep):
    leads = [
        qualified(
            first_name=f"Lead{i}",
            score_breakdown=[{"rule": "VP title", "points": 30}, {"rule": "Pricing page", "points": 12}],
        )
        for i in range(4)
    ]
    promotion.promote_qualified_leads()
    return leads


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/queue/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/queue/")


def test_marketers_cannot_open_the_queue_and_reps_cannot_open_feedback(client, marketer, rep):
    client.force_login(marketer)
    assert client.get("/queue/").status_code == 403
    client.force_login(rep)
    assert client.get("/feedback/").status_code == 403


def test_a_rep_sees_only_own_hand_offs_oldest_deadline_first(
    client, handed, rep, django_assert_max_num_queries
):
    Handoff.objects.filter(lead=handed[2]).update(sla_due_at=timezone.now() - timedelta(hours=1))
    client.force_login(rep)
    with django_assert_max_num_queries(12):
        response = client.get("/queue/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [h.lead_id for h in rows] == [handed[2].pk, handed[0].pk]
    html = response.content.decode()
    assert "VP title +30" in html
    assert 'data-deadline="' in html
    assert "js/funnel-queue.js" in html
    assert f"handoff-{handed[1].pk}" not in html


def test_the_queue_query_count_does_not_grow_with_the_queue(
    client, scoring_model, rep, django_assert_max_num_queries
):
    for _ in range(30):
        qualified()
    promotion.promote_qualified_leads()
    client.force_login(rep)
    with django_assert_max_num_queries(12):
        assert len(client.get("/queue/").context["rows"]) == 30


def test_a_rep_accepts_through_htmx_and_gets_the_row_back(client, handed, rep):
    client.force_login(rep)
    response = client.post(f"/queue/{handed[0].pk}/accept/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The lead is now in SAL, owned by" in response.content.decode()
    assert f'id="handoff-{handed[0].pk}"' in response.content.decode()
    handed[0].refresh_from_db()
    assert handed[0].stage_id == "sal"


def test_a_rep_rejects_with_a_reason_without_javascript(client, handed, rep):
    client.force_login(rep)
    response = client.post(f"/queue/{handed[0].pk}/reject/", {"reason": "no-budget", "note": "Q3 maybe"})
    assert response.status_code == 302
    assert response["Location"] == "/queue/"
    h = Handoff.objects.get(lead=handed[0])
    assert (h.status, h.reject_reason.slug, h.note) == ("rejected", "no-budget", "Q3 maybe")


def test_rejecting_without_a_reason_tells_the_rep(client, handed, rep):
    client.force_login(rep)
    response = client.post(f"/queue/{handed[0].pk}/reject/", {"reason": ""}, HTTP_HX_REQUEST="true")
    assert "Not done" in response.content.decode()
    assert Handoff.objects.get(lead=handed[0]).status == "open"


def test_a_rep_cannot_decide_on_another_reps_lead_from_the_page(client, handed, rep):
    client.force_login(rep)
    response = client.post(f"/queue/{handed[1].pk}/accept/", HTTP_HX_REQUEST="true")
    assert "Only the lead" in response.content.decode()
    assert Handoff.objects.get(lead=handed[1]).status == "open"


def test_a_manager_sees_every_queue_the_unassigned_one_and_breaches(client, handed, manager, rep, other_rep):
    Handoff.objects.filter(lead=handed[3]).update(rep=None)
    Handoff.objects.filter(lead=handed[0]).update(breached_at=timezone.now(), sla_due_at=timezone.now())
    client.force_login(manager)
    response = client.get("/queue/")
    assert len(response.context["rows"]) == 4
    html = response.content.decode()
    assert "Unassigned" in html
    assert "Reassign" in html
    assert [h.lead_id for h in client.get("/queue/?rep=unassigned").context["rows"]] == [handed[3].pk]
    assert [h.lead_id for h in client.get("/queue/?rep=breached").context["rows"]] == [handed[0].pk]
    assert {h.rep_id for h in client.get(f"/queue/?rep={rep.pk}").context["rows"]} == {rep.pk}


def test_a_manager_reassigns_from_the_queue(client, handed, manager, other_rep):
    client.force_login(manager)
    response = client.post(f"/queue/{handed[0].pk}/assign/", {"owner": other_rep.pk}, HTTP_HX_REQUEST="true")
    assert "Reassigned." in response.content.decode()
    handed[0].refresh_from_db()
    assert handed[0].owner_id == other_rep.pk


def test_reps_cannot_use_the_reassign_form(client, handed, rep, other_rep):
    client.force_login(rep)
    assert client.post(f"/queue/{handed[0].pk}/assign/", {"owner": other_rep.pk}).status_code == 403


@pytest.fixture
def rejections(scoring_model, rep):
    webinar, search = (
        CampaignFactory(slug="webinar", name="Webinar"),
        CampaignFactory(slug="search", name="Search"),
    )
    ops = PersonaFactory(slug="ops", name="Ops leader")
    leads = [
        qualified(campaign=webinar, persona=ops),
        qualified(campaign=webinar),
        qualified(campaign=search, persona=ops),
        qualified(campaign=None),
    ]
    promotion.promote_qualified_leads()
    reasons = ["no-budget", "no-budget", "competitor", "no-budget"]
    for lead, reason in zip(leads, reasons, strict=True):
        handoff.reject_lead(lead_id=lead.pk, actor=rep, reason=reason, note=f"=cmd|{reason}")
    return leads


def test_feedback_shows_rejections_by_reason_and_campaign_and_persona(
    client, rejections, marketer, django_assert_max_num_queries
):
    client.force_login(marketer)
    with django_assert_max_num_queries(12):
        response = client.get("/feedback/")
    assert response.status_code == 200
    by_campaign = response.context["tables"]["campaign"]
    assert [label for _, label in by_campaign.columns] == ["Search", "Webinar", "(no campaign)"]
    assert {row.slug: row.counts for row in by_campaign.rows} == {
        "no-budget": [0, 2, 1],
        "competitor": [1, 0, 0],
    }
    by_persona = response.context["tables"]["persona"]
    assert {row.slug: row.total for row in by_persona.rows} == {"no-budget": 3, "competitor": 1}
    assert len(response.context["rejected"]) == 4
    assert "=cmd|no-budget" in response.content.decode()


def test_feedback_tables_download_as_csv_escaped(client, rejections, manager):
    client.force_login(manager)
    response = client.get("/feedback/?format=csv&table=campaign")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1] == "No budget,0,2,1,3"
    rejected = b"".join(client.get("/feedback/?format=csv&table=rejected").streaming_content).decode()
    assert "'=cmd|no-budget" in rejected
    assert len(rejected.strip().splitlines()) == 5
    persona = b"".join(client.get("/feedback/?format=csv&table=persona").streaming_content).decode()
    assert persona.splitlines()[0].lstrip("\ufeff") == "reason,Ops leader,(no persona),total"


def test_feedback_shows_lost_deals_by_reason_next_to_rejections(client, manager, rep):
    webinar = CampaignFactory(slug="webinar", name="Webinar")
    ops = PersonaFactory(slug="ops", name="Ops leader")
    deals = [
        LeadFactory(stage="opportunity", owner=rep, campaign=webinar, persona=ops),
        LeadFactory(stage="opportunity", owner=rep, campaign=webinar),
        LeadFactory(stage="sql", owner=rep, campaign=None, persona=ops),
    ]
    for lead, reason in zip(deals, ["price", "price", "competitor"], strict=True):
        moves.move_lead(lead_id=lead.pk, to_slug="lost", actor=rep, lost_reason=reason)
    client.force_login(manager)
    response = client.get("/feedback/")
    lost = response.context["lost"]
    assert [label for _, label in lost["campaign"].columns] == ["Webinar", "(no campaign)"]
    assert {row.slug: row.counts for row in lost["campaign"].rows} == {"price": [2, 0], "competitor": [0, 1]}
    assert {row.slug: row.counts for row in lost["persona"].rows} == {"price": [1, 1], "competitor": [1, 0]}
    html = response.content.decode()
    assert "Lost deals by reason and campaign" in html
    assert "No rejections yet." in html  # the rejection tables are empty, the lost ones are not
    body = b"".join(client.get("/feedback/?format=csv&table=lost-campaign").streaming_content).decode()
    assert body.splitlines()[0].lstrip("\ufeff") == "reason,Webinar,(no campaign),total"
    assert body.splitlines()[1] == "Price,2,0,2"
    persona = b"".join(client.get("/feedback/?format=csv&table=lost-persona").streaming_content).decode()
    assert persona.splitlines()[0].lstrip("\ufeff") == "reason,Ops leader,(no persona),total"


def test_the_lead_panel_shows_stage_history_sla_state_and_the_timeline(handed, rep, marketer):
    handoff.reject_lead(lead_id=handed[0].pk, actor=rep, reason="no-need", note="Uses a competitor")
    Note.objects.create(lead=handed[0], author=marketer, body="Will retarget")
    context = lead_page_context(handed[0], NoteForm(), user=marketer)
    assert [stay["stage"].slug for stay in context["stays"]] == ["nurture", "mql"]
    html = render_to_string("funnel/lead_panel.html", context)
    assert "No need" in html
    assert "Uses a competitor" in html
    assert "Will retarget" in html
    assert "Stage history" in html
    assert "MQL → Nurture" in html
