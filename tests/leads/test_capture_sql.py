"""The upsert statements of lead and activity capture tell created from updated, on either database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from leads.activities_sql import insert_activities, upsert_activities
from leads.ingest_sql import upsert_lead_rows
from leads.models import Activity, Lead
from tests.factories import LeadFactory

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
    assert outcome == {
        "old@example.com": (old.pk, False),
        "new@example.com": (new.pk, True),
        "other@example.com": (Lead.objects.get(email="other@example.com").pk, True),
    }
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
