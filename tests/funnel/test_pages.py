from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from core.models import AuditEvent
from funnel import handoff, moves, promotion
from funnel.lead_page import _context as lead_page_context
from funnel.models import Handoff
from leads.forms import NoteForm
from leads.models import Lead, Note
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
    assert "Assign the checked hand-offs to" in html
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


# --- the queue at volume: pages, filters, bulk assignment -----------------------------------------------


@pytest.fixture
def many_waiting(scoring_model, rep, other_rep):
    """120 hand-offs, many sharing one deadline (only the id orders those), a third of them overdue."""
    for _ in range(120):
        qualified()
    promotion.promote_qualified_leads()
    now = timezone.now()
    open_ids = list(Handoff.objects.filter(status="open").order_by("pk").values_list("pk", flat=True))
    Handoff.objects.filter(pk__in=open_ids[:40]).update(sla_due_at=now - timedelta(hours=2))
    return open_ids


def walk(client, params):
    seen, cursor = [], None
    while True:
        response = client.get("/queue/", {**params, **({"cursor": cursor} if cursor else {})})
        page = response.context["page"]
        seen.extend(h.pk for h in page.rows)
        cursor = page.next_cursor
        if not cursor:
            return seen


def test_the_queue_pages_walk_every_waiting_hand_off_once_by_deadline(client, many_waiting, manager):
    client.force_login(manager)
    first = client.get("/queue/")
    assert len(first.context["rows"]) == 50
    assert 'rel="next"' in first.content.decode()
    seen = walk(client, {})
    expected = list(
        Handoff.objects.filter(status="open").order_by("sla_due_at", "pk").values_list("pk", flat=True)
    )
    assert seen == expected
    assert len(seen) == 120


def test_managers_filter_the_queue_by_rep_unassigned_and_overdue(client, many_waiting, manager, rep):
    Handoff.objects.filter(pk__in=many_waiting[100:105]).update(rep=None)
    client.force_login(manager)
    overdue = walk(client, {"overdue": "1"})
    assert sorted(overdue) == sorted(many_waiting[:40])
    mine = walk(client, {"rep": rep.pk})
    assert set(Handoff.objects.filter(pk__in=mine).values_list("rep_id", flat=True)) == {rep.pk}
    assert len(mine) == Handoff.objects.filter(status="open", rep=rep).count()
    assert walk(client, {"rep": "unassigned"}) == many_waiting[100:105]
    mine_overdue = walk(client, {"rep": rep.pk, "overdue": "1"})
    assert set(mine_overdue) == set(mine) & set(many_waiting[:40])
    assert len(walk(client, {"rep": "¹²", "overdue": "maybe"})) == 120  # nonsense filters show everything


def test_a_rep_sees_only_their_own_pages_whatever_the_filter(client, many_waiting, rep):
    client.force_login(rep)
    seen = walk(client, {"rep": "unassigned"})
    assert set(Handoff.objects.filter(pk__in=seen).values_list("rep_id", flat=True)) == {rep.pk}
    assert 'id="bulk-assign"' not in client.get("/queue/").content.decode()


@pytest.mark.parametrize("cursor_page", [False, True])
def test_a_queue_page_costs_the_same_whatever_the_queue_and_the_page(
    client, many_waiting, manager, django_assert_max_num_queries, cursor_page
):
    client.force_login(manager)
    params = {}
    if cursor_page:
        params["cursor"] = client.get("/queue/").context["page"].next_cursor
    # session, user, roles, the keyset scan, the page's hand-offs with leads, campaigns and reps, the reasons
    # for the one reject form, and the manager's summary (open and overdue per rep; the reps, who also fill
    # the filter and the assign form)
    with django_assert_max_num_queries(8):
        response = client.get("/queue/", params)
    assert len(response.context["rows"]) == 50


def test_a_pager_link_through_htmx_gets_only_the_rows(client, many_waiting, manager):
    client.force_login(manager)
    cursor = client.get("/queue/").context["page"].next_cursor
    response = client.get("/queue/", {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<section id="results"')


def test_a_manager_bulk_assigns_checked_hand_offs_to_a_rep(client, handed, manager, rep, other_rep):
    client.force_login(manager)
    chosen = [lead.pk for lead in handed[:3]]
    response = client.post(
        "/queue/assign/", {"lead": chosen, "owner": other_rep.pk, "next": f"/queue/?rep={rep.pk}"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/queue/?rep={rep.pk}"
    assert set(Lead.objects.filter(pk__in=chosen).values_list("owner_id", flat=True)) == {other_rep.pk}
    assert set(
        Handoff.objects.filter(lead_id__in=chosen, status="open").values_list("rep_id", flat=True)
    ) == {other_rep.pk}
    events = AuditEvent.objects.filter(action="handoff.reassigned", object_id__in=[str(pk) for pk in chosen])
    assert events.count() == 3
    assert all(e.actor_id == manager.pk for e in events)
    assert "Assigned 3 hand-offs." in client.get("/queue/").content.decode()


def test_bulk_assignment_reports_what_it_could_not_do_and_does_the_rest(
    client, handed, manager, rep, other_rep
):
    handoff.accept_lead(lead_id=handed[0].pk, actor=manager)  # decided meanwhile: now in SAL, assignable
    Lead.objects.filter(pk=handed[1].pk).update(stage="nurture")  # left the funnel: not assignable
    client.force_login(manager)
    response = client.post("/queue/assign/", {"lead": [handed[1].pk, handed[2].pk], "owner": other_rep.pk})
    assert response.status_code == 302
    html = client.get("/queue/").content.decode()
    assert "Assigned 1 hand-off." in html
    assert f"Lead {handed[1].pk} not assigned" in html
    assert Lead.objects.get(pk=handed[2].pk).owner_id == other_rep.pk


@pytest.mark.parametrize(
    "data", [{"lead": [], "owner": "REP"}, {"lead": ["x"], "owner": "REP"}, {"lead": ["LEAD"], "owner": ""}]
)
def test_bulk_assignment_needs_hand_offs_and_a_rep(client, handed, manager, rep, data):
    data = {
        "lead": [str(handed[0].pk) if v == "LEAD" else v for v in data["lead"]],
        "owner": str(rep.pk) if data["owner"] == "REP" else data["owner"],
    }
    client.force_login(manager)
    before = list(Handoff.objects.order_by("pk").values_list("pk", "rep_id", "status"))
    assert client.post("/queue/assign/", {**data, "next": "https://evil.example/"})["Location"] == "/queue/"
    assert list(Handoff.objects.order_by("pk").values_list("pk", "rep_id", "status")) == before


def test_reps_cannot_bulk_assign(client, handed, rep, other_rep):
    client.force_login(rep)
    assert client.post("/queue/assign/", {"lead": [handed[0].pk], "owner": other_rep.pk}).status_code == 403
