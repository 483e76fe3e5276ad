"""The upsert statements of lead and activity capture tell created from updated, on either database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from leads.activities_sql import insert_activities, upsert_activities
from leads.ingest_sql import LeadRow, upsert_lead_rows
from leads.models import Activity, Lead, LeadAlias, Transition
from leads.pipeline import NEW_LEADS
from tests.factories import LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db


def test_lead_rows_are_created_or_updated_by_email_and_only_sent_columns_change():
    old = LeadFactory(email="old@example.com", company="Kept Ltd", job_title="CTO")
    with transaction.atomic():
        outcome = upsert_lead_rows(
            rows=[
                {"email": "old@example.com", "job_title": "CEO"},
                {"email": "new@example.com", "job_title": "VP", "company_size": 40},
                {"email": "other@example.com"},
            ]
        )
    new = Lead.objects.get(email="new@example.com")
    assert {email: (u.id, u.created) for email, u in outcome.leads.items()} == {
        "old@example.com": (old.pk, False),
        "new@example.com": (new.pk, True),
        "other@example.com": (Lead.objects.get(email="other@example.com").pk, True),
    }
    assert outcome.aliases == {}
    old.refresh_from_db()
    assert (old.company, old.job_title) == ("Kept Ltd", "CEO")
    assert (new.job_title, new.company_size, new.company, new.stage_id, new.grade) == (
        "VP",
        40,
        "",
        "inquiry",
        "D",
    )
    assert (new.attributes, new.score_breakdown, new.scoring_version) == ({}, [], None)


@pytest.mark.parametrize("separator", ["", "\x1f"])
def test_lead_rows_keep_quotes_backslashes_braces_and_nulls_each_in_its_own_row(separator):
    tricky = 'O"Brien \\ {a,b} NULL, "x"'
    with transaction.atomic():
        upsert_lead_rows(
            rows=[
                {"email": "a@example.com", "company": tricky, "job_title": f"VP{separator}", "consent": True},
                {
                    "email": "b@example.com",
                    "company": "NULL",
                    "job_title": "",
                    "company_size": 12,
                    "is_decision_maker": False,
                    "attributes": {"quote": '"', "list": [1, None]},
                },
                {"email": "c@example.com", "last_name": "Zoë", "attributes": None},
            ]
        )
    stored = {
        lead.email: lead
        for lead in Lead.objects.filter(email__in=["a@example.com", "b@example.com", "c@example.com"])
    }
    a, b, c = stored["a@example.com"], stored["b@example.com"], stored["c@example.com"]
    assert (a.company, a.job_title, a.consent, a.is_decision_maker, a.company_size) == (
        tricky,
        f"VP{separator}",
        True,
        None,
        None,
    )
    assert (b.company, b.job_title, b.company_size, b.is_decision_maker, b.consent) == (
        "NULL",
        "",
        12,
        False,
        None,
    )
    assert b.attributes == {"quote": '"', "list": [1, None]}
    assert (c.last_name, c.company, c.attributes) == ("Zoë", "", None)


def test_activities_with_an_external_id_are_stored_once_and_later_copies_overwrite():
    lead = LeadFactory()
    now = timezone.now()
    first = {
        "lead_id": lead.pk,
        "type": "page_view",
        "occurred_at": now - dt.timedelta(hours=1),
        "external_id": "evt-1",
        "metadata": {"url": "/pricing"},
    }
    with transaction.atomic():
        created = upsert_activities(rows=[first], now=now)
    with transaction.atomic():
        again = upsert_activities(
            rows=[{**first, "type": "email_click", "metadata": {"n": 2}}, {**first, "external_id": "evt-2"}],
            now=now,
        )
    activity_id = created["evt-1"][0]
    assert created == {"evt-1": (activity_id, True)}
    assert again["evt-1"] == (activity_id, False)
    assert again["evt-2"][1] is True
    stored = Activity.objects.get(pk=activity_id)
    assert (stored.type, stored.metadata) == ("email_click", {"n": 2})


def test_activities_without_an_external_id_are_inserted_in_order():
    lead = LeadFactory()
    now = timezone.now()
    rows = [
        {"lead_id": lead.pk, "type": kind, "occurred_at": now, "external_id": "", "metadata": {}}
        for kind in ("call", "meeting", "call")
    ]
    with transaction.atomic():
        ids = insert_activities(rows=rows, now=now)
    assert [Activity.objects.get(pk=pk).type for pk in ids] == ["call", "meeting", "call"]
    assert insert_activities(rows=[], now=now) == []


def test_an_alias_e_mail_is_reported_and_nothing_is_written():
    survivor = LeadFactory(email="survivor@example.com")
    LeadAlias.objects.create(email="Old.Name@example.com", lead=survivor)
    with transaction.atomic():
        outcome = upsert_lead_rows(
            rows=[{"email": "new@example.com"}, {"email": "old.name@example.com", "company": "Acme"}]
        )
    assert outcome.aliases == {"old.name@example.com": "survivor@example.com"}
    assert outcome.leads == {}
    assert list(Lead.objects.values_list("email", flat=True)) == ["survivor@example.com"]


def test_new_leads_get_their_first_transition_and_come_back_as_stored_when_asked():
    old = LeadFactory(email="old@example.com", company="Kept Ltd", persona=PersonaFactory(slug="cto"))
    Transition.objects.all().delete()
    with transaction.atomic():
        outcome = upsert_lead_rows(
            rows=[
                LeadRow(values={"email": "old@example.com", "job_title": "CEO", "name_key": "x"}),
                LeadRow(values={"email": "new@example.com", "name_key": "n|k"}, overwrite=frozenset()),
            ],
            first_transitions=NEW_LEADS,
            answer=True,
        )
    new = outcome.leads["new@example.com"]
    assert new.created
    assert not outcome.leads["old@example.com"].created
    assert list(Transition.objects.values_list("lead_id", "from_stage", "to_stage__slug", "rule")) == [
        (new.id, None, "inquiry", "ingest")
    ]
    stored = outcome.leads["old@example.com"].lead
    assert (stored.pk, stored.job_title, stored.company) == (old.pk, "CEO", "Kept Ltd")
    assert (stored.persona.slug, stored.attributes) == ("cto", {})
    assert stored.created_at == Lead.objects.get(pk=old.pk).created_at
    assert (new.lead.email, new.lead.persona, new.lead.stage_id) == ("new@example.com", None, "inquiry")
    assert Lead.objects.get(pk=new.id).name_key == "n|k"


def test_columns_left_out_of_overwrite_are_inserted_but_never_change_an_existing_lead():
    old = LeadFactory(email="old@example.com", name_key="kept|key")
    with transaction.atomic():
        upsert_lead_rows(
            rows=[LeadRow(values={"email": "old@example.com", "name_key": "new|key"}, overwrite=frozenset())]
        )
    old.refresh_from_db()
    assert old.name_key == "kept|key"
