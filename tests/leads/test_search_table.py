"""The search table follows the leads: database triggers write it on every insert, change and delete."""

from __future__ import annotations

import pytest
from django.db import connection

from leads.filters import LeadFilter
from leads.ingest import upsert_leads
from leads.models import Lead, LeadSearch
from tests.conftest import needs_postgres
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def found(term: str) -> list[str]:
    return sorted(lead.email for lead in LeadFilter({"search": term}, queryset=Lead.objects.all()).qs)


def text_of(lead: Lead) -> str:
    return LeadSearch.objects.get(lead_id=lead.pk).text


def test_a_new_lead_has_its_four_fields_joined_by_the_unit_separator():
    lead = LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy Co")

    assert text_of(lead) == "grace@navy.example\x1fGrace\x1fHopper\x1fNavy Co"


def test_a_changed_field_is_searched_by_its_new_value_only():
    lead = LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy")

    Lead.objects.filter(pk=lead.pk).update(company="Univac")

    assert found("univac") == ["grace@navy.example"]
    assert found("navy labs") == []
    assert found("hopper") == ["grace@navy.example"]


def test_a_save_of_every_column_keeps_the_text_and_a_change_elsewhere_leaves_it_alone():
    lead = LeadFactory(email="alan@bletchley.example", first_name="Alan", last_name="Turing", company="GCCS")
    before = text_of(lead)

    lead.job_title = "Cryptanalyst"
    lead.save()
    Lead.objects.filter(pk=lead.pk).update(score=90, grade="A")

    assert text_of(lead) == before


def test_a_deleted_lead_leaves_no_row():
    kept, gone = LeadFactory(), LeadFactory()

    Lead.objects.filter(pk=gone.pk).delete()

    assert list(LeadSearch.objects.values_list("lead_id", flat=True)) == [kept.pk]


def test_an_upserted_batch_is_searchable_as_inserted_and_as_updated():
    LeadFactory(email="ada@engine.example", first_name="Ada", last_name="Byron", company="Engines")

    upsert_leads(
        items=[
            {"email": "ada@engine.example", "last_name": "Lovelace"},
            {"email": "charles@engine.example", "first_name": "Charles", "company": "Difference Engines"},
        ]
    )

    assert found("lovelace") == ["ada@engine.example"]
    assert found("byron") == []
    assert found("difference") == ["charles@engine.example"]
    assert LeadSearch.objects.count() == Lead.objects.count() == 2


@needs_postgres
def test_a_truncated_lead_table_empties_the_search_table():
    LeadFactory()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may be pending at a TRUNCATE
        cursor.execute("TRUNCATE leads_lead CASCADE")  # as a test flush does; rolled back with the test

    assert not LeadSearch.objects.exists()
