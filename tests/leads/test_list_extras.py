"""The lead list's total, column sorting, date and source filters, invalid filters, saved views and bulk
actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import AuditEvent
from funnel.models import Handoff
from leads import list_sql
from leads.list_sql import LeadCount, count_leads
from leads.models import Lead, SavedView
from leads.views import count_text
from tests.conftest import ON_POSTGRES, needs_postgres
from tests.factories import LeadFactory
from tests.leads.test_pages import csv_rows, first_names, many_leads

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


# --- Total --------------------------------------------------------------------------------------------


def test_the_list_shows_the_exact_total_of_the_filtered_leads(client, marketer):
    many_leads(120)
    LeadFactory(company="Other")
    response = signed_in(client, marketer).get("/leads/", {"search": "bulk"})
    assert response.context["total"] == "120 leads"
    assert "120 leads</strong>; 50 on this page, more on the next." in response.content.decode()


def test_above_the_bound_the_total_is_marked_as_not_exact(client, marketer, monkeypatch):
    monkeypatch.setattr(list_sql, "EXACT_LIMIT", 40)
    many_leads(60)
    count = count_leads(Lead.objects.all())
    assert not count.exact
    total = signed_in(client, marketer).get("/leads/").context["total"]
    if ON_POSTGRES:
        assert count.estimated
        assert count.value >= 41
        assert total.startswith("about ")
    else:
        assert count == LeadCount(value=40, exact=False)
        assert total == "more than 40 leads"


def test_a_page_that_holds_every_match_is_its_own_total_without_a_count_query(client, marketer):
    many_leads(7)
    LeadFactory(company="Other")
    client = signed_in(client, marketer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/leads/", {"search": "bulk"})
    assert response.context["total"] == "7 leads"
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    LeadFactory.create_batch(60, first_name="Bulk")  # more than a page: the total is counted
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/leads/", {"search": "bulk"})
    assert response.context["total"] == "67 leads"
    assert [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


@needs_postgres
def test_postgresql_estimates_from_the_planner_without_reading_the_rows():
    many_leads(300)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")
    estimate = list_sql.planner_estimate(Lead.objects.filter(score__gte=0))
    assert estimate is not None
    assert 200 <= estimate <= 400


def counted(queryset) -> tuple[LeadCount, list[str]]:
    """The total of ``queryset`` and the statements that found it."""
    with CaptureQueriesContext(connection) as queries:
        count = count_leads(queryset)
    return count, [q["sql"] for q in queries.captured_queries]


@needs_postgres
@pytest.mark.parametrize(
    ("bound", "budget"),
    [(10, None), (100, "CHECK_BUDGET_MS"), (1000, "COUNT_BUDGET_MS")],
)
def test_how_long_postgresql_counts_follows_the_estimate_against_the_bound(monkeypatch, bound, budget):
    """About 300 expected: far above a bound of 10, no count; above 100, a short one; below 1000, the full
    budget."""
    monkeypatch.setattr(list_sql, "EXACT_LIMIT", bound)
    many_leads(300)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")
    count, statements = counted(Lead.objects.filter(score__gte=0))
    counts = [sql for sql in statements if "COUNT(" in sql.upper()]
    if budget is None:
        assert (count.exact, count.estimated) == (False, True)
        assert 200 <= count.value <= 400
        assert counts == []
        return
    assert len(counts) == 1
    assert [sql for sql in statements if "statement_timeout" in sql] == [
        f"SELECT set_config('statement_timeout', '{getattr(list_sql, budget)}ms', true)"
    ]
    if bound == 1000:
        assert count == LeadCount(value=300, exact=True)
    else:
        assert (count.exact, count.estimated) == (False, True)
        assert count.value >= bound + 1


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@needs_postgres
def test_a_count_over_its_budget_gives_way_to_the_estimate_and_leaves_the_transaction_usable(monkeypatch):
    many_leads(30)
    monkeypatch.setattr(list_sql, "COUNT_BUDGET_MS", 1)
    before = statement_timeout()
    # The server would sleep for 5 s per row; the budget cancels the count after 1 ms.
    slow = Lead.objects.filter(
        pk__in=RawSQL(f"SELECT id FROM {Lead._meta.db_table} WHERE pg_sleep(5) IS NOT NULL", [])  # noqa: S611
    )
    count = count_leads(slow)
    assert (count.exact, count.estimated) == (False, True)
    assert statement_timeout() == before
    assert Lead.objects.count() == 30  # the request's transaction goes on


@needs_postgres
def test_a_count_within_its_budget_is_exact_and_restores_the_timeout():
    many_leads(30)
    before = statement_timeout()
    assert count_leads(Lead.objects.all()) == LeadCount(value=30, exact=True)
    assert statement_timeout() == before


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (LeadCount(1, True), "1 lead"),
        (LeadCount(9_999, True), "9,999 leads"),
        (LeadCount(12_345, False, estimated=True), "about 12,000 leads"),
        (LeadCount(1_234_567, False, estimated=True), "about 1.2 M leads"),
        (LeadCount(10_000, False), "more than 10,000 leads"),
        (LeadCount(499, False, estimated=True), "about 500 leads"),
        (LeadCount(7, False, estimated=True), "about 7 leads"),
    ],
)
def test_the_total_reads_as_words(count, text):
    assert count_text(count) == text


# --- Sorting by column headers ------------------------------------------------------------------------


def test_column_headers_sort_and_say_how_the_list_is_sorted(client, marketer):
    LeadFactory(first_name="Lowly", score=1)
    LeadFactory(first_name="Topmost", score=99)
    client = signed_in(client, marketer)
    body = client.get("/leads/").content.decode()
    created = 'aria-sort="descending"><a class="sort" href="?ordering=created_at">Created'
    assert created in body
    assert 'aria-sort="none"><a class="sort" href="?ordering=-score">Score' in body
    body = client.get("/leads/", {"ordering": "-score"}).content.decode()
    assert 'aria-sort="descending"><a class="sort" href="?ordering=score">Score' in body
    assert body.index("Topmost") < body.index("Lowly")
    body = client.get("/leads/", {"ordering": "score", "search": "example"}).content.decode()
    assert 'aria-sort="ascending"><a class="sort" href="?ordering=-score&amp;search=example">Score' in body
    assert body.index("Lowly") < body.index("Topmost")


# --- Filters ------------------------------------------------------------------------------------------


def test_created_and_updated_date_ranges_take_whole_days(client, marketer):
    today = timezone.localdate()
    noon = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
    LeadFactory(first_name="Today", created_at=noon, updated_at=noon)
    LeadFactory(first_name="Lastweek", created_at=noon - dt.timedelta(days=7), updated_at=noon)
    LeadFactory(
        first_name="Stale", created_at=noon - dt.timedelta(days=30), updated_at=noon - dt.timedelta(days=30)
    )
    client = signed_in(client, marketer)

    def names(**params):
        return sorted(first_names(client.get("/leads/", params)))

    day = today.isoformat()
    assert names(created_from=day, created_to=day) == ["Today"]
    assert names(created_from=(today - dt.timedelta(days=7)).isoformat()) == ["Lastweek", "Today"]
    assert names(created_to=(today - dt.timedelta(days=1)).isoformat()) == ["Lastweek", "Stale"]
    assert names(updated_from=(today - dt.timedelta(days=1)).isoformat()) == ["Lastweek", "Today"]
    assert names(updated_to=(today - dt.timedelta(days=2)).isoformat()) == ["Stale"]


def test_the_source_filter(client, marketer):
    LeadFactory(first_name="Webby", source="web")
    LeadFactory(first_name="Eventy", source="event")
    assert first_names(signed_in(client, marketer).get("/leads/", {"source": "event"})) == ["Eventy"]


@pytest.mark.parametrize(
    ("params", "label"),
    [
        ({"stage": "no-such-stage"}, "Stage"),
        ({"persona": "nobody"}, "Persona"),
        ({"campaign": "nothing"}, "Campaign"),
        ({"owner": "999999"}, "Owner"),
        ({"source": "content"}, "Source"),
        ({"ordering": "email"}, "Sort by"),
        ({"created_from": "yesterday"}, "Created from"),
        ({"created_to": "9999-12-31"}, "Created to"),
        ({"created_from": "2026-05-02", "created_to": "2026-05-01"}, "Created to"),
        ({"min_score": "50", "max_score": "10"}, "Maximum score"),
    ],
)
def test_invalid_filter_values_are_listed_as_errors_instead_of_ignored(client, marketer, params, label):
    LeadFactory(first_name="Hidden")
    response = signed_in(client, marketer).get("/leads/", params)
    assert response.status_code == 200
    assert label in [name for name, _ in response.context["errors"]]
    body = response.content.decode()
    assert "Some filters are not valid" in body
    assert f"<strong>{label}</strong>" in body
    assert "Hidden" not in body
    assert (
        signed_in(client, marketer)
        .get("/leads/", {**params, "format": "csv"})["Content-Type"]
        .startswith("text/html")
    )


def test_known_slugs_still_filter(client, marketer, rep):
    LeadFactory(first_name="Mine", owner=rep, stage="sal")
    LeadFactory(first_name="Free", stage="inquiry")
    client = signed_in(client, marketer)
    assert first_names(client.get("/leads/", {"stage": "sal"})) == ["Mine"]
    assert first_names(client.get("/leads/", {"owner": rep.pk})) == ["Mine"]


# --- Saved views --------------------------------------------------------------------------------------


def test_a_user_saves_the_current_filters_and_finds_them_on_the_list(client, rep):
    client = signed_in(client, rep)
    response = client.post(
        "/leads/views/", {"name": "My open SQLs", "query": f"stage=sql&owner={rep.pk}&cursor=abc&grade="}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/leads/?stage=sql&owner={rep.pk}"
    view = SavedView.objects.get(user=rep)
    assert (view.name, view.query) == ("My open SQLs", f"stage=sql&owner={rep.pk}")
    body = client.get("/leads/").content.decode()
    assert f'<a href="/leads/?stage=sql&amp;owner={rep.pk}">My open SQLs</a>' in body
    # The same name again replaces the filters rather than adding a second view.
    client.post("/leads/views/", {"name": "my open sqls", "query": "stage=sal"})
    assert list(SavedView.objects.values_list("name", "query")) == [("my open sqls", "stage=sal")]


def test_saved_views_are_private_to_their_user(client, rep, other_rep):
    view = SavedView.objects.create(user=other_rep, name="Olli's hot leads", query="grade=A")
    client = signed_in(client, rep)
    assert "Olli&#x27;s hot leads" not in client.get("/leads/").content.decode()
    assert client.post(f"/leads/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    signed_in(client, other_rep).post(f"/leads/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "bad\x00name"])
def test_a_view_needs_a_sensible_name(client, rep, name):
    response = signed_in(client, rep).post("/leads/views/", {"name": name, "query": "grade=A"})
    assert response.status_code == 302
    assert not SavedView.objects.exists()


# --- Bulk actions -------------------------------------------------------------------------------------


def test_only_managers_get_the_bulk_actions(client, marketer, rep, manager):
    LeadFactory()
    for user in (marketer, rep):
        body = signed_in(client, user).get("/leads/").content.decode()
        assert "bulk-form" not in body
        assert signed_in(client, user).post("/leads/bulk/", {"action": "export"}).status_code == 403
    body = signed_in(client, manager).get("/leads/").content.decode()
    assert "bulk-form" in body
    assert 'name="ids"' in body


def test_a_manager_assigns_selected_sales_leads_and_is_told_about_the_rest(client, manager, rep):
    sal = LeadFactory(email="sal@example.com", stage="sal")
    sql = LeadFactory(email="sql@example.com", stage="sql")
    fresh = LeadFactory(email="fresh@example.com", stage="inquiry")
    response = signed_in(client, manager).post(
        "/leads/bulk/",
        {
            "action": "assign",
            "owner": rep.pk,
            "ids": [sal.pk, sql.pk, fresh.pk],
            "next": "stage=sal&cursor=x",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/leads/?stage=sal"
    assert set(Lead.objects.filter(owner=rep).values_list("email", flat=True)) == {
        "sal@example.com",
        "sql@example.com",
    }
    assert AuditEvent.objects.filter(action="lead.assigned").count() == 2
    shown = [str(m) for m in response.wsgi_request._messages]
    assert "Assigned 2 leads." in shown
    assert any(m.startswith("1 not assigned: fresh@example.com:") for m in shown)


def test_a_manager_exports_only_the_selected_leads(client, manager):
    chosen = LeadFactory(email="chosen@example.com")
    LeadFactory(email="skipped@example.com")
    response = signed_in(client, manager).post("/leads/bulk/", {"action": "export", "ids": [chosen.pk]})
    assert response.status_code == 200
    assert [row["email"] for row in csv_rows(response)] == ["chosen@example.com"]


def test_bulk_actions_need_a_selection_and_a_rep(client, manager):
    lead = LeadFactory(stage="sal")
    client = signed_in(client, manager)
    assert client.post("/leads/bulk/", {"action": "assign", "owner": "1"}).status_code == 302
    response = client.post("/leads/bulk/", {"action": "assign", "ids": [lead.pk], "owner": ""})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner_id is None
    assert Handoff.objects.count() == 0


def test_no_template_comment_leaks_into_the_page(client, manager):
    LeadFactory()
    body = signed_in(client, manager).get("/leads/").content.decode()
    assert "{#" not in body
    assert "{%" not in body
