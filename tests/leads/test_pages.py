"""The lead pages: /leads/ (search, filters, sorting, keyset pages, CSV) and /leads/<id>/."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.filters import LeadFilter
from leads.models import Lead, Note, Stage
from leads.selectors import leads_visible_to
from tests.conftest import ON_POSTGRES, needs_postgres
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


def first_names(response) -> list[str]:
    """The first names of the leads the list shows (each row's label is "First Last")."""
    return [row.label.split()[0] for row in response.context["leads"]]


def many_leads(count: int, **fields) -> list[Lead]:
    now = timezone.now()
    return Lead.objects.bulk_create(
        Lead(
            email=f"bulk{i}@example.com",
            first_name="Bulk",
            last_name=f"Lead{i}",
            company=f"Company {i}",
            score=i % 97,
            created_at=now - dt.timedelta(minutes=i),
            updated_at=now - dt.timedelta(minutes=i),
            **fields,
        )
        for i in range(count)
    )


# --- Access -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/leads/", "/leads/1/"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_user_in_no_team_gets_the_403_page(client, nobody):
    lead = LeadFactory()
    for path in ("/leads/", f"/leads/{lead.pk}/"):
        response = signed_in(client, nobody).get(path)
        assert response.status_code == 403
        assert b"You may not open this page" in response.content
        assert b"not in a team" in response.content


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_every_team_sees_the_shared_lead_list(client, request, who):
    LeadFactory(first_name="Ada", last_name="Lovelace", company="Engines Ltd")
    response = signed_in(client, request.getfixturevalue(who)).get("/leads/")
    assert response.status_code == 200
    assert b"Ada Lovelace" in response.content
    assert b"Engines Ltd" in response.content


def test_navigation_shows_only_the_pages_of_the_users_role(client, marketer, manager):
    body = signed_in(client, marketer).get("/leads/").content.decode()
    assert 'href="/leads/" aria-current="page"' in body
    assert 'href="/audit/"' not in body
    client.logout()
    body = signed_in(client, manager).get("/leads/").content.decode()
    assert 'href="/audit/"' in body


def test_an_unknown_page_gets_the_404_page_in_the_layout(client, marketer):
    response = signed_in(client, marketer).get("/no-such-page/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content
    assert b'class="topbar"' in response.content


# --- Search, filters and sorting ----------------------------------------------------------------------


@pytest.mark.parametrize("term", ["grace", "HOPPER", "navy.example", "Navy Labs"])
def test_search_finds_a_lead_by_name_email_or_company(client, marketer, term):
    LeadFactory(first_name="Grace", last_name="Hopper", email="grace@navy.example", company="Navy Labs")
    LeadFactory(first_name="Alan", last_name="Turing", email="alan@bletchley.example", company="Bletchley")
    body = signed_in(client, marketer).get("/leads/", {"search": term}).content.decode()
    assert "Grace Hopper" in body
    assert "Alan Turing" not in body


@needs_postgres
def test_the_search_reads_the_trigram_index_of_the_search_table_on_postgresql(marketer):
    LeadFactory(first_name="Grace", last_name="Hopper", email="grace@navy.example", company="Navy Labs")
    queryset = LeadFilter({"search": "hopper"}, queryset=leads_visible_to(marketer)).qs
    with connection.cursor() as cursor:
        # A handful of rows would be read whole; forbid that so the plan shows which index the search uses.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.order_by().explain()
    assert "lead_search_text_trgm_idx" in plan
    assert [lead.last_name for lead in queryset] == ["Hopper"]


def test_filters_narrow_the_list(client, marketer, rep):
    persona = PersonaFactory(slug="ops-head", name="Head of Ops")
    campaign = CampaignFactory(slug="spring-webinar", name="Spring webinar")
    match = LeadFactory(
        first_name="Match", stage="mql", owner=rep, persona=persona, campaign=campaign, grade="A", score=70
    )
    LeadFactory(first_name="Other", stage="mql", owner=rep, persona=persona, campaign=campaign, grade="B")
    LeadFactory(first_name="Cold", stage="inquiry", grade="A", score=70)
    LeadFactory(
        first_name="Low", stage="mql", owner=rep, persona=persona, campaign=campaign, grade="A", score=10
    )
    params = {
        "stage": "mql",
        "owner": rep.pk,
        "persona": "ops-head",
        "campaign": "spring-webinar",
        "grade": "A",
        "min_score": 50,
        "max_score": 90,
    }
    response = signed_in(client, marketer).get("/leads/", params)
    assert [lead.pk for lead in response.context["leads"]] == [match.pk]


def test_filter_dropdowns_offer_stages_owners_personas_and_campaigns(client, marketer, rep):
    PersonaFactory(slug="cfo", name="Finance chief")
    CampaignFactory(slug="fall-fair", name="Fall fair")
    body = signed_in(client, marketer).get("/leads/").content.decode()
    assert '<option value="mql">MQL</option>' in body  # the funnel names its stages
    assert f'<option value="{rep.pk}">Sam Seller</option>' in body
    assert '<option value="cfo">Finance chief</option>' in body
    assert '<option value="fall-fair">Fall fair</option>' in body


def test_chosen_filters_stay_selected_after_reload(client, marketer):
    body = signed_in(client, marketer).get("/leads/", {"stage": "sal", "grade": "B"}).content.decode()
    assert '<option value="sal" selected>' in body
    assert '<option value="B" selected>' in body


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [("-score", ["high", "mid", "low"]), ("score", ["low", "mid", "high"])],
)
def test_sorting_by_score_in_both_directions(client, marketer, ordering, expected):
    for name, score in (("mid", 50), ("low", 5), ("high", 90)):
        LeadFactory(first_name=name, score=score)
    response = signed_in(client, marketer).get("/leads/", {"ordering": ordering})
    assert first_names(response) == expected


def test_sorting_by_created_and_updated_dates(client, marketer):
    now = timezone.now()
    LeadFactory(first_name="old", created_at=now - dt.timedelta(days=3), updated_at=now)
    LeadFactory(first_name="new", created_at=now, updated_at=now - dt.timedelta(days=3))
    client = signed_in(client, marketer)
    assert first_names(client.get("/leads/")) == ["new", "old"]
    assert first_names(client.get("/leads/", {"ordering": "created_at"})) == ["old", "new"]
    assert first_names(client.get("/leads/", {"ordering": "-updated_at"})) == ["old", "new"]
    assert first_names(client.get("/leads/", {"ordering": "updated_at"})) == ["new", "old"]


@pytest.mark.parametrize(
    "params",
    [
        {"min_score": "lots"},
        {"grade": "Z"},
        {"owner": "someone"},
        {"search": "x" * 500},
        {"ordering": "email"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJ4IiwxLCJuIl0"},  # ["x",1,"n"]: a string where a date belongs
        {"search": "\x00"},
    ],
)
def test_malformed_parameters_never_break_the_page(client, marketer, params):
    LeadFactory()
    response = signed_in(client, marketer).get("/leads/", params)
    assert response.status_code == 200


def test_an_invalid_filter_is_explained_and_shows_no_rows(client, marketer):
    LeadFactory(first_name="Hidden")
    response = signed_in(client, marketer).get("/leads/", {"min_score": "lots"})
    assert b"Some filters are not valid" in response.content
    assert b"Hidden" not in response.content


# --- Keyset pagination --------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ["-created_at", "score", "-score", "updated_at"])
def test_next_links_walk_every_lead_once_in_order_and_previous_goes_back(client, marketer, ordering):
    many_leads(120)
    client = signed_in(client, marketer)
    seen, pages, cursor = [], [], None
    while True:
        params = {"ordering": ordering, **({"cursor": cursor} if cursor else {})}
        page = client.get("/leads/", params).context["page"]
        pages.append(page)
        seen.extend(page.rows)
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(pages) == 3
    assert len(seen) == 120
    assert len({lead.pk for lead in seen}) == 120
    column, reverse = ordering.lstrip("-"), ordering.startswith("-")
    keys = dict(Lead.objects.values_list("pk", column))
    expected = sorted(keys, key=lambda pk: (keys[pk], pk), reverse=reverse)
    assert [row.pk for row in seen] == expected
    assert pages[0].previous_cursor is None
    back = client.get("/leads/", {"ordering": ordering, "cursor": pages[2].previous_cursor}).context["page"]
    assert [lead.pk for lead in back.rows] == [lead.pk for lead in pages[1].rows]
    first = client.get("/leads/", {"ordering": ordering, "cursor": back.previous_cursor}).context["page"]
    assert [lead.pk for lead in first.rows] == [lead.pk for lead in pages[0].rows]
    assert first.previous_cursor is None


def test_pages_are_read_without_offset_and_the_total_never_counts_past_its_bound(client, marketer):
    many_leads(120)
    client = signed_in(client, marketer)
    cursor = client.get("/leads/").context["page"].next_cursor
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/leads/", {"cursor": cursor})
    assert response.status_code == 200
    sql = [query["sql"].upper() for query in queries.captured_queries]
    assert not any("OFFSET" in statement for statement in sql)
    counts = [statement for statement in sql if "COUNT(" in statement]
    assert len(counts) == 1
    assert "LIMIT 10001" in counts[0]


def test_pager_links_keep_the_filters(client, marketer):
    many_leads(60)
    body = signed_in(client, marketer).get("/leads/", {"search": "bulk", "grade": "D"}).content.decode()
    assert 'rel="next" href="?search=bulk&amp;grade=D&amp;cursor=' in body


@pytest.mark.parametrize("count", [30, 300])
def test_the_list_runs_a_constant_number_of_queries(
    client, marketer, rep, django_assert_max_num_queries, count
):
    persona, campaign = PersonaFactory(), CampaignFactory()
    many_leads(count, owner=rep, persona=persona, campaign=campaign)
    client = signed_in(client, marketer)
    cursor = client.get("/leads/").context["page"].next_cursor
    # session, user, roles, one page of leads, the bounded total, the owner, persona and campaign choices,
    # the stage names and the user's saved views; on PostgreSQL the total's time budget adds a savepoint,
    # its setting and its rollback (and the savepoint's release inside the test's transaction), and the
    # planner's estimate, asked first
    with django_assert_max_num_queries(15 if ON_POSTGRES else 10):
        response = client.get("/leads/", {"cursor": cursor} if count > 50 else {})
    assert len(response.context["leads"]) == (50 if count > 50 else count)
    assert b"Bulk" in response.content


# --- htmx ---------------------------------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_results(client, marketer):
    LeadFactory(first_name="Partial")
    response = signed_in(client, marketer).get(
        "/leads/", {"search": "partial"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body
    assert "Partial" in body
    assert "HX-Request" in response["Vary"]


def test_the_filter_form_updates_the_results_with_htmx_and_works_without(client, marketer):
    body = signed_in(client, marketer).get("/leads/").content.decode()
    assert 'method="get" action="/leads/"' in body
    assert 'hx-get="/leads/" hx-target="#results"' in body
    assert "<script>" not in body
    assert "style=" not in body


def test_the_page_is_served_with_a_policy_that_forbids_inline_scripts(client, marketer):
    response = signed_in(client, marketer).get("/leads/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


# --- CSV ----------------------------------------------------------------------------------------------


def test_csv_download_streams_every_filtered_row(client, marketer):
    many_leads(70)
    LeadFactory(email="other@example.org", first_name="Other", company="Elsewhere")
    response = signed_in(client, marketer).get("/leads/", {"search": "bulk", "format": "csv"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="leads.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 70
    assert {row["first_name"] for row in rows} == {"Bulk"}


def test_csv_cells_are_escaped_against_formula_injection(client, marketer):
    LeadFactory(email="evil@example.com", company="=cmd()", first_name="+SUM(A1)", score=42)
    rows = csv_rows(signed_in(client, marketer).get("/leads/", {"format": "csv"}))
    assert rows[0]["company"] == "'=cmd()"
    assert rows[0]["first_name"] == "'+SUM(A1)"
    assert rows[0]["score"] == "42"


def test_csv_follows_the_chosen_sorting(client, marketer):
    for score in (10, 80, 40):
        LeadFactory(score=score)
    rows = csv_rows(signed_in(client, marketer).get("/leads/", {"format": "csv", "ordering": "-score"}))
    assert [row["score"] for row in rows] == ["80", "40", "10"]


def test_csv_needs_a_team_too(client, nobody):
    assert signed_in(client, nobody).get("/leads/", {"format": "csv"}).status_code == 403


# --- Detail -------------------------------------------------------------------------------------------


def full_lead(rep) -> Lead:
    return LeadFactory(
        email="lin@acme.example",
        first_name="Lin",
        last_name="Chen",
        company="Acme Robotics",
        job_title="VP Operations",
        seniority="vp",
        is_decision_maker=True,
        company_size=420,
        industry="Manufacturing",
        country="DE",
        phone="+49 30 1234567",
        persona=PersonaFactory(slug="ops", name="Operations leader"),
        campaign=CampaignFactory(slug="expo", name="Automation Expo"),
        source="event",
        utm_source="expo",
        utm_medium="booth",
        utm_campaign="expo-2026",
        external_id="crm-77",
        consent=True,
        attributes={"fleet_size": 12},
        score=73,
        fit_score=45,
        engagement_score=28,
        grade="A",
        score_breakdown=[
            {"rule": "Seniority is VP", "points": 20},
            {"rule": "Webinar attended", "points": 28},
        ],
        stage="mql",
        owner=rep,
        sla_due_at=dt.datetime(2026, 11, 27, 15, 30, tzinfo=dt.UTC),
    )


def test_detail_shows_the_profile_score_breakdown_stage_owner_and_sla(client, marketer, rep):
    lead = full_lead(rep)
    body = signed_in(client, marketer).get(f"/leads/{lead.pk}/").content.decode()
    for text in (
        "Lin Chen",
        "lin@acme.example",
        "Acme Robotics",
        "VP Operations",
        "420 employees",
        "Manufacturing",
        "+49 30 1234567",
        "Operations leader",
        "Automation Expo",
        "expo-2026",
        "crm-77",
        "fleet_size",
        "MQL",
        "Sam Seller",
        "2026-11-27 15:30",
        "Seniority is VP",
        "Webinar attended",
    ):
        assert text in body, text
    assert '<span class="big">45</span><span class="muted">fit</span>' in body
    assert '<span class="big">28</span><span class="muted">engagement</span>' in body
    assert '<td class="num">20</td>' in body
    assert 'class="grade grade-A' in body


def test_detail_of_a_lead_that_does_not_exist_is_404(client, marketer):
    response = signed_in(client, marketer).get("/leads/999999/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content


def test_detail_runs_a_constant_number_of_queries(client, marketer, rep, django_assert_max_num_queries):
    lead = full_lead(rep)
    for index in range(30):
        Note.objects.create(lead=lead, author=rep, body=f"note {index}")
    client = signed_in(client, marketer)
    # session, user, roles, the lead with persona, campaign and owner, its latest notes with authors, and the
    # funnel's panel (stage names, transitions, hand-offs, the four timeline sources), possible duplicates:
    # the same for 30 notes or 3
    with django_assert_max_num_queries(14):
        response = client.get(f"/leads/{lead.pk}/")
    assert response.content.count(b'class="note-body"') == 20


def test_a_note_added_on_the_page_lands_on_the_lead(client, rep):
    lead = LeadFactory()
    response = signed_in(client, rep).post(f"/leads/{lead.pk}/notes/", {"body": "  Called, wants a demo.  "})
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    note = Note.objects.get(lead=lead)
    assert (note.body, note.author) == ("Called, wants a demo.", rep)
    assert b"Called, wants a demo." in client.get(f"/leads/{lead.pk}/").content


@pytest.mark.parametrize("body", ["", "   ", "bad\x01char", "x" * 5001])
def test_a_bad_note_is_refused_with_a_message(client, rep, body):
    lead = LeadFactory()
    response = signed_in(client, rep).post(f"/leads/{lead.pk}/notes/", {"body": body})
    assert response.status_code == 400
    assert b'class="field-errors"' in response.content
    assert not Note.objects.exists()


def test_notes_need_a_team_and_an_existing_lead(client, nobody, rep):
    lead = LeadFactory()
    assert signed_in(client, nobody).post(f"/leads/{lead.pk}/notes/", {"body": "hi"}).status_code == 403
    client.logout()
    assert signed_in(client, rep).post("/leads/999999/notes/", {"body": "hi"}).status_code == 404
    assert signed_in(client, rep).get(f"/leads/{lead.pk}/notes/").status_code == 405
    assert not Note.objects.exists()


def test_stage_names_come_from_the_stages_managers_keep(client, marketer):
    Stage.objects.filter(slug="inquiry").update(name="New")
    Stage.objects.create(slug="demo-booked", name="Demo booked", kind="sql", order=45, team="sales")
    lead = LeadFactory(stage_id="demo-booked")
    client = signed_in(client, marketer)
    body = client.get("/leads/").content.decode()
    assert '<option value="demo-booked">Demo booked</option>' in body
    assert '<option value="inquiry">New</option>' in body
    assert ">Demo booked</span>" in body
    assert "<dd>Demo booked</dd>" in client.get(f"/leads/{lead.pk}/").content.decode()
