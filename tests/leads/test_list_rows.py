"""The lead list's rows (leads.list_rows): values ready to print, one query a page, whatever its size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from core.keyset import paginate
from leads.list_rows import ROW_FIELDS, lead_rows_page
from leads.models import Lead, Stage
from leads.selectors import leads_visible_to
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory, UserFactory

pytestmark = pytest.mark.django_db

# 23:30 UTC on 30 November is already 1 December in Berlin.
LATE = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


def rows_of(user, *, stage_names=None, key="created_at", descending=True, cursor=None, page_size=50):
    if stage_names is None:
        stage_names = dict(Stage.objects.values_list("slug", "name"))
    return lead_rows_page(
        leads_visible_to(user),
        key=key,
        descending=descending,
        cursor=cursor,
        page_size=page_size,
        stage_names=stage_names,
    )


@pytest.fixture
def known(rep):
    """A lead with every cell filled in, and one known only by its e-mail."""
    full = LeadFactory(
        first_name="Ada",
        last_name="O'Brien",
        email="ada@engines.example",
        company="Engines & Co",
        score=87,
        grade="A",
        stage="sql",
        owner=rep,
        persona=PersonaFactory(name="CFO <Finance>"),
        campaign=CampaignFactory(name="Spring webinar"),
        created_at=LATE,
        updated_at=LATE + dt.timedelta(hours=1, microseconds=250),
    )
    bare = LeadFactory(
        first_name="",
        last_name="",
        email="who@example.com",
        company="",
        score=-3,
        grade="D",
        created_at=LATE - dt.timedelta(days=1),
        updated_at=LATE - dt.timedelta(days=1),
    )
    return full, bare


@override_settings(TIME_ZONE="Europe/Berlin")
def test_rows_carry_what_the_list_prints(known, marketer):
    full, bare = known
    with timezone.override("Europe/Berlin"):
        first, second = rows_of(marketer).rows
    assert (first.pk, first.url) == (full.pk, f"/leads/{full.pk}/")
    assert (first.label, first.company, first.email) == ("Ada O'Brien", "Engines & Co", "ada@engines.example")
    assert (first.score, first.grade, first.stage, first.stage_name) == (87, "A", "sql", "SQL")
    assert (first.owner_name, first.persona_name, first.campaign_name) == (
        "Sam Seller",
        "CFO <Finance>",
        "Spring webinar",
    )
    # as the template filters date:"c" and date:"Y-m-d" print them, in the current time zone
    assert (first.created_iso, first.created_day) == ("2026-12-01T00:30:00+01:00", "2026-12-01")
    assert (first.updated_iso, first.updated_day) == ("2026-12-01T01:30:00.000250+01:00", "2026-12-01")
    assert (second.pk, second.label, second.company) == (bare.pk, "who@example.com", "")
    assert (second.score, second.stage, second.stage_name) == (-3, "inquiry", "Inquiry")
    assert (second.owner_name, second.persona_name, second.campaign_name) == ("", "", "")
    assert (second.created_iso, second.created_day) == ("2026-11-30T00:30:00+01:00", "2026-11-30")


def test_dates_follow_the_current_time_zone(known, marketer):
    with timezone.override("UTC"):
        row = rows_of(marketer).rows[0]
    assert (row.created_iso, row.created_day) == ("2026-11-30T23:30:00+00:00", "2026-11-30")
    with timezone.override("America/New_York"):
        row = rows_of(marketer).rows[0]
    assert (row.created_iso, row.created_day) == ("2026-11-30T18:30:00-05:00", "2026-11-30")


def test_an_owner_without_a_name_shows_as_the_username(marketer):
    LeadFactory(owner=UserFactory(username="jdoe", first_name="", last_name=""))
    LeadFactory(owner=UserFactory(username="only-first", first_name="Kim", last_name=""))
    names = sorted(row.owner_name for row in rows_of(marketer).rows)
    assert names == ["Kim", "jdoe"]


def test_a_stage_missing_from_the_names_shows_its_slug(known, marketer):
    rows = rows_of(marketer, stage_names={"inquiry": "New"}).rows
    assert [(row.stage, row.stage_name) for row in rows] == [("sql", "sql"), ("inquiry", "New")]


def test_rows_keep_the_keyset_order_and_cursors(marketer):
    for score in (5, 90, 50):
        LeadFactory(first_name=f"s{score}", last_name="", score=score)
    first = rows_of(marketer, key="score", descending=True, page_size=2)
    assert [row.label for row in first.rows] == ["s90", "s50"]
    assert first.next_cursor
    assert first.previous_cursor is None
    second = rows_of(marketer, key="score", descending=True, page_size=2, cursor=first.next_cursor)
    assert [row.label for row in second.rows] == ["s5"]
    assert second.next_cursor is None
    assert second.previous_cursor


def test_the_page_is_one_query_reading_only_the_columns_the_rows_show(known, marketer):
    visible = leads_visible_to(marketer)
    with CaptureQueriesContext(connection) as queries:
        page = lead_rows_page(
            visible, key="created_at", descending=True, cursor=None, page_size=50, stage_names={}
        )
        rows = page.rows
    assert len(rows) == 2
    (sql,) = (query["sql"] for query in queries.captured_queries)
    selected = sql[: sql.upper().index(" FROM ")]
    for column in ("score_breakdown", "attributes", "utm_source", "phone", "password", "last_login"):
        assert column not in selected
    for column in ("first_name", "company", "created_at", "updated_at", '"stage"'):
        assert column in selected
    assert "owner__username" in ROW_FIELDS


def _queries_for_list(client, user, params) -> tuple[int, int]:
    """The queries of a second visit to the list, and how many rows it shows."""
    client.force_login(user)
    client.get("/leads/", params)  # the session and the user's roles, as on any later page
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/leads/", params)
    assert response.status_code == 200
    return len(queries.captured_queries), len(response.context["leads"])


def _varied_leads(count: int) -> None:
    """``count`` leads, each with an owner, persona and campaign of its own: any lookup per row would show."""
    now = timezone.now()
    for i in range(count):
        LeadFactory(
            owner=UserFactory(first_name=f"Owner{i}", roles=["sales"]),
            persona=PersonaFactory(),
            campaign=CampaignFactory(),
            created_at=now - dt.timedelta(minutes=i),
            updated_at=now,
        )


@pytest.mark.parametrize("who", ["marketer", "manager"])
@pytest.mark.parametrize("params", [{}, {"search": "example"}, {"ordering": "-score", "grade": "D"}])
def test_the_list_costs_the_same_queries_for_5_rows_as_for_50(client, request, who, params):
    user = request.getfixturevalue(who)
    _varied_leads(5)
    few, shown = _queries_for_list(client, user, params)
    assert shown == 5
    _varied_leads(45)
    many, shown = _queries_for_list(client, user, params)
    assert shown == 50
    assert many == few
    assert few <= 12


def test_a_row_of_the_page_reads_as_before(client, manager, rep):
    """The HTML of one row, escaping and all, as the list printed it when the template did the lookups."""
    lead = LeadFactory(
        first_name="Ada13",
        last_name="O'Brien <b>",
        email="lead13@acme1.example",
        company="Company 13",
        score=-9,
        grade="B",
        stage="won",
        owner=rep,
        persona=PersonaFactory(name="Ops & Co"),
        campaign=CampaignFactory(name="Fall fair"),
        created_at=dt.datetime(2026, 11, 27, 4, 17, tzinfo=dt.UTC),
        updated_at=dt.datetime(2026, 11, 29, 8, 29, 46, 999987, tzinfo=dt.UTC),
    )
    client.force_login(manager)
    with override_settings(TIME_ZONE="Europe/Berlin"):
        html = client.get("/leads/").content.decode()
    expected = f"""
        <tr>
          <td class="select-col"><input type="checkbox" name="ids" value="{lead.pk}" aria-label="Select Ada13 O&#x27;Brien &lt;b&gt;"></td>
          <td class="lead-cell">
            <a href="/leads/{lead.pk}/">Ada13 O&#x27;Brien &lt;b&gt;</a>
            <span class="sub">Company 13<span class="email"> · lead13@acme1.example</span></span>
            <span class="stage stage-won show-sm">Won</span>
          </td>
          <td class="num score">-9</td>
          <td><span class="grade grade-B" title="Grade B">B</span></td>
          <td class="hide-sm"><span class="stage stage-won">Won</span></td>
          <td class="hide-sm nowrap">Sam Seller</td>
          <td class="hide-sm nowrap">Ops &amp; Co</td>
          <td class="hide-sm">Fall fair</td>
          <td class="hide-sm nowrap"><time datetime="2026-11-27T05:17:00+01:00">2026-11-27</time></td>
          <td class="hide-sm nowrap"><time datetime="2026-11-29T09:29:46.999987+01:00">2026-11-29</time></td>
        </tr>
"""  # noqa: E501
    assert expected in html


def test_a_row_without_owner_persona_or_campaign_shows_dashes(client, marketer):
    lead = LeadFactory(first_name="", last_name="", email="who@example.com", company="")
    client.force_login(marketer)
    html = client.get("/leads/").content.decode()
    row = html[html.index(f'<a href="/leads/{lead.pk}/">who@example.com</a>') :]
    row = row[: row.index("</tr>")]
    assert '<span class="sub">who@example.com</span>' in row
    assert '<td class="hide-sm nowrap"><span class="muted">—</span></td>' in row
    assert '<td class="hide-sm nowrap">—</td>' in row
    assert '<td class="hide-sm">—</td>' in row
    assert 'name="ids"' not in html  # the select column is for managers only
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(("key", "descending"), [("score", True), ("created_at", False)])
def test_named_rows_page_as_model_instances_do(marketer, key, descending):
    """core.keyset reads the cursor from a named row as from an instance: the same pages, the same links."""
    now = timezone.now()
    for i in range(7):
        LeadFactory(score=i % 3, created_at=now - dt.timedelta(minutes=i % 2))
    queryset = Lead.objects.all()
    cursors, pages = [None, None], [[], []]
    for _ in range(3):  # seven leads, three a page
        for side, rows in enumerate((queryset, queryset.values_list("pk", key, named=True))):
            page = paginate(rows, key=key, descending=descending, cursor=cursors[side], page_size=3)
            pages[side].append([row.pk for row in page.rows])
            cursors[side] = page.next_cursor
        assert cursors[0] == cursors[1]
    assert cursors == [None, None]
    assert pages[0] == pages[1]
    assert sorted(pk for page in pages[1] for pk in page) == sorted(queryset.values_list("pk", flat=True))


def test_the_list_is_ordered_only_by_a_column_its_rows_read(marketer):
    with pytest.raises(ValueError, match="phone"):
        rows_of(marketer, key="phone")
