"""The lead search (``leads.search_sql``): what it finds on both databases, and on PostgreSQL the side table
``lead_search`` that the triggers of migration 0017 keep in step with the leads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from leads.filters import LeadFilter
from leads.ingest import upsert_leads
from leads.merge import merge_leads
from leads.models import Lead
from leads.search_sql import lead_matches
from tests.conftest import needs_postgres
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/leads/batch/"
BEFORE = ("leads", "0016_lead_sweep_indexes")
AFTER = ("leads", "0017_lead_search_table")
OLD_INDEXES = {f"lead_{column}_trgm_idx" for column in ("email", "first_name", "last_name", "company")}


def found(search: str) -> list[str]:
    """The e-mails of the leads the list's search finds, in e-mail order."""
    queryset = LeadFilter({"search": search}, queryset=Lead.objects.all()).qs
    return sorted(queryset.values_list("email", flat=True))


def expected_text(lead: Lead) -> str:
    return chr(31).join((lead.email, lead.first_name, lead.last_name, lead.company)).upper()


def search_rows() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT lead_id, text FROM lead_search")
        return dict(cursor.fetchall())


def search_row_version(lead_id: int) -> str:
    """The physical place of the lead's search row: any write to it, even of the same text, moves it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM lead_search WHERE lead_id = %s", [lead_id])
        return cursor.fetchone()[0]


def in_step() -> dict[int, str]:
    """What ``lead_search`` should hold for the leads stored now."""
    return {lead.pk: expected_text(lead) for lead in Lead.objects.all()}


def index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        return name in connection.introspection.table_names(cursor)


# --- What the search finds (both databases) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "term"),
    [("email", "NAVY.example"), ("first_name", "grac"), ("last_name", "HOPP"), ("company", "labs")],
)
def test_the_search_finds_a_lead_by_each_searched_field(field, term):
    LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy Labs")
    LeadFactory(email="alan@bletchley.example", first_name="Alan", last_name="Turing", company="Bletchley")
    assert found(term) == ["grace@navy.example"]


def test_every_term_of_a_search_must_match_some_field():
    LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy Labs")
    LeadFactory(email="gary@navy.example", first_name="Gary", last_name="Other", company="Navy Labs")
    assert found("navy grace") == ["grace@navy.example"]
    assert found("navy labs") == ["gary@navy.example", "grace@navy.example"]
    assert found("grace turing") == []


@pytest.mark.parametrize(
    ("term", "match"),
    [("100%", "pure@x.example"), ("a_b", "a_b@x.example"), ("c\\d", "back@x.example")],
)
def test_wildcards_in_a_term_are_matched_literally(term, match):
    LeadFactory(email="pure@x.example", company="100% Pure")
    LeadFactory(email="plain@x.example", company="1000 Pure")
    LeadFactory(email="a_b@x.example", company="Underscore")
    LeadFactory(email="axb@x.example", company="Cross")
    LeadFactory(email="back@x.example", company="c\\d")
    LeadFactory(email="cxd@x.example", company="cd")
    assert found(term) == [match]


def test_a_term_never_matches_across_two_fields():
    LeadFactory(email="lee@x.example", first_name="Pat", last_name="Lee", company="Acme")
    assert found("leeacme") == []
    assert found("patlee") == []
    assert found("lee acme") == ["lee@x.example"]
    # The separator that joins the fields on PostgreSQL: no field holds it, so nothing matches.
    assert not Lead.objects.filter(lead_matches(f"lee{chr(31)}acme")).exists()


def test_the_admin_lead_list_searches_the_same_way(client):
    LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy Labs")
    LeadFactory(email="alan@bletchley.example", first_name="Alan", last_name="Turing", company="Bletchley")
    client.force_login(User.objects.create_superuser("root", "root@x.example", "pw"))
    response = client.get("/admin/leads/lead/", {"q": 'hopper "navy labs"'})
    assert response.status_code == 200
    assert [lead.email for lead in response.context["cl"].result_list] == ["grace@navy.example"]


# --- The side table follows the leads (PostgreSQL) ------------------------------------------------------


@needs_postgres
def test_the_search_row_follows_an_orm_create_and_a_bulk_create():
    LeadFactory(email="one@x.example", first_name="Ann", last_name="One", company="Acme")
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(email=f"bulk{i}@x.example", last_name=f"Bulk{i}", created_at=now, updated_at=now)
        for i in range(3)
    )
    assert len(search_rows()) == 4
    assert search_rows() == in_step()


@needs_postgres
def test_the_search_row_follows_the_batch_upsert_of_new_and_existing_leads(full_client):
    existing = LeadFactory(email="old@x.example", first_name="Old", last_name="", company="Before")
    untouched = LeadFactory(email="same@x.example", first_name="Same", company="Kept")
    kept_version = search_row_version(untouched.pk)
    response = full_client.post(
        BATCH,
        {
            "leads": [
                {"email": "new@x.example", "first_name": "New", "company": "Fresh"},
                {"email": "old@x.example", "company": "After"},
                {"email": "same@x.example", "company": "Kept", "industry": "Software"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert search_rows() == in_step()
    assert search_rows()[existing.pk] == expected_text(
        Lead(email="old@x.example", first_name="Old", company="After")
    )
    assert found("fresh") == ["new@x.example"]
    assert found("after") == ["old@x.example"]
    assert found("before") == []
    # Upserted, but no searched field changed: its search row was not written.
    assert search_row_version(untouched.pk) == kept_version


@needs_postgres
def test_the_search_row_follows_a_single_upsert():
    created = upsert_leads(items=[{"email": "solo@x.example", "company": "First"}]).lead_ids[0]
    upsert_leads(items=[{"email": "solo@x.example", "last_name": "Second"}])
    assert search_rows() == {created: "SOLO@X.EXAMPLE\x1f\x1fSECOND\x1fFIRST"}


@needs_postgres
def test_an_orm_update_of_a_searched_field_rewrites_the_search_row():
    lead = LeadFactory(email="kim@x.example", last_name="Park", company="Acme")
    lead.company = "Globex"
    lead.save(update_fields=["company"])
    Lead.objects.filter(pk=lead.pk).update(first_name="Kim")
    lead.refresh_from_db()
    assert search_rows() == {lead.pk: expected_text(lead)}
    assert found("globex kim") == ["kim@x.example"]
    assert found("acme") == []


@needs_postgres
def test_a_stage_or_score_update_does_not_write_the_search_row(rep):
    lead = LeadFactory(email="kim@x.example", company="Acme")
    version = search_row_version(lead.pk)
    Lead.objects.filter(pk=lead.pk).update(stage_id="mql", owner=rep, updated_at=timezone.now())
    Lead.objects.filter(pk=lead.pk).update(score=80, grade="A", scored_at=timezone.now())
    lead.refresh_from_db()
    lead.score = 10
    lead.save()  # every column written, the searched ones unchanged
    assert search_row_version(lead.pk) == version
    assert search_rows() == in_step()


@needs_postgres
def test_deleting_leads_deletes_their_search_rows():
    first, second, kept = LeadFactory(), LeadFactory(), LeadFactory()
    first.delete()
    Lead.objects.filter(pk=second.pk).delete()
    assert set(search_rows()) == {kept.pk}


@needs_postgres
def test_truncating_the_leads_empties_the_search_table():
    LeadFactory()
    with connection.cursor() as cursor:
        # The leads' deferred foreign key checks must run first: TRUNCATE refuses pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {Lead._meta.db_table} CASCADE")
    assert search_rows() == {}


@needs_postgres
def test_a_merge_keeps_the_survivors_search_row_in_step_and_drops_the_others(manager):
    survivor = upsert_leads(items=[{"email": "kim@acme.example", "first_name": "Kim"}]).lead_ids[0]
    other = upsert_leads(
        items=[
            {"email": "kim.park@gmail.example", "first_name": "Kim", "last_name": "Park", "company": "Acme"}
        ]
    ).lead_ids[0]
    merge_leads(survivor_id=survivor, other_id=other, actor=manager)
    assert search_rows() == {survivor: "KIM@ACME.EXAMPLE\x1fKIM\x1fPARK\x1fACME"}
    assert found("park") == ["kim@acme.example"]


@needs_postgres
def test_the_search_of_a_rare_term_reads_the_trigram_index_of_the_search_table():
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(email=f"bulk{i}@x.example", last_name=f"Bulk{i}", created_at=now, updated_at=now)
        for i in range(200)
    )
    queryset = LeadFilter({"search": "bulk123 example"}, queryset=Lead.objects.all()).qs
    with connection.cursor() as cursor:
        # A few hundred rows would be read whole; forbid that so the plan shows whether the index answers.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = queryset.order_by().explain()
    assert "lead_search_trgm_idx" in plan
    assert list(queryset.values_list("email", flat=True)) == ["bulk123@x.example"]


# --- The migration (PostgreSQL) -------------------------------------------------------------------------


def migrate_to(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_search_table_from_existing_leads_and_reverses():
    LeadFactory(email="before@x.example", company="Old Corp")
    migrate_to(BEFORE)
    try:
        assert not table_exists("lead_search")
        assert index_names(Lead._meta.db_table) >= OLD_INDEXES
        now = timezone.now()
        # Stored while the triggers are gone: only the backfill can put them in the search table.
        Lead.objects.bulk_create(
            Lead(email=f"old{i}@x.example", company=f"Firm {i}", created_at=now, updated_at=now)
            for i in range(5)
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert search_rows() == in_step()
    assert len(search_rows()) == 6
    assert not index_names(Lead._meta.db_table) & OLD_INDEXES
    assert "lead_search_trgm_idx" in index_names("lead_search")
    assert found("firm 3") == ["old3@x.example"]
    LeadFactory(email="after@x.example")
    assert search_rows() == in_step()
