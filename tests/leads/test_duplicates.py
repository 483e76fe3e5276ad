"""Likely duplicates (name and company, E.164 phone, external id) and merging two leads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alignment.models import KpiSnapshot
from alignment.snapshots import compute_snapshots
from core.audit import record
from core.errors import ValidationProblem
from core.models import AuditEvent
from funnel.models import Handoff
from leads.duplicates import duplicates_of, likely_pairs, update_match_keys
from leads.ingest import update_lead, upsert_leads
from leads.match_keys import name_key, phone_key
from leads.merge import merge_leads
from leads.models import Activity, Lead, LeadAlias, Note, Transition
from scoring.models import ScoreChange
from tests.alignment.pipeline import at, handoff, journey
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def ingest(**fields) -> Lead:
    return Lead.objects.get(pk=upsert_leads(items=[fields]).lead_ids[0])


def test_match_keys_fold_case_accents_punctuation_and_legal_forms():
    assert name_key("Zoë", "O'Neil", "ACME, Inc.") == name_key(" zoe ", "o neil", "Acme") == "zoe o neil|acme"
    assert name_key("", "", "Acme") == ""
    assert name_key("Zoe", "Neil", "") == ""
    assert phone_key("030 1234567", "DE") == phone_key("+49 30 1234567", "") == "+49301234567"
    assert phone_key("(415) 555-0100", "us") == "+14155550100"
    assert phone_key("call me", "DE") == ""
    assert phone_key("12", "DE") == ""


def test_duplicates_are_found_by_name_and_company_phone_or_external_id_with_reasons():
    lead = ingest(
        email="zoe@acme.com",
        first_name="Zoë",
        last_name="Neil",
        company="Acme Inc",
        phone="030 1234567",
        country="DE",
        external_id="crm-1",
    )
    by_name = ingest(email="z.neil@gmail.com", first_name="zoe", last_name="NEIL", company="acme")
    by_phone = ingest(email="office@acme.com", phone="+49 30 1234567")
    by_id = ingest(email="other@acme.com", external_id="crm-1")
    by_all = ingest(
        email="zn@acme.com", first_name="Zoe", last_name="Neil", company="ACME", phone="+49301234567"
    )
    ingest(
        email="unrelated@acme.com", first_name="Zoe", last_name="Other", company="Acme", phone="+4930999999"
    )
    with CaptureQueriesContext(connection) as queries:
        found = {d.lead.pk: d.reasons for d in duplicates_of(lead=lead)}
    assert len(queries) == 1
    assert found == {
        by_name.pk: ("name",),
        by_phone.pk: ("phone",),
        by_id.pk: ("external_id",),
        by_all.pk: ("name", "phone"),
    }


def test_keys_follow_changes_of_the_fields_they_come_from():
    lead = ingest(email="a@x.com", first_name="Ann", last_name="Lee", company="X")
    other = ingest(email="b@x.com", first_name="Ann", last_name="Lee", company="Y")
    assert duplicates_of(lead=lead) == []
    upsert_leads(items=[{"email": "b@x.com", "company": "X"}])  # the name stays, the company changes
    assert [d.lead.pk for d in duplicates_of(lead=lead)] == [other.pk]
    update_lead(lead=other, fields={"last_name": "Leigh"})
    assert duplicates_of(lead=lead) == []


def test_update_match_keys_writes_the_keys_of_the_values_given_and_reads_nothing():
    lead = ingest(email="a@x.com", first_name="Ann", last_name="Lee", company="X", phone="030 1234567")
    unchanged = ingest(email="b@x.com", first_name="Bo", company="Y")
    stored = {
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "Acme GmbH",
        "phone": "030 1234567",
        "country": "DE",
        "name_key": lead.name_key,
        "phone_e164": lead.phone_e164,
    }
    same = {field: getattr(unchanged, field) for field in stored}
    with CaptureQueriesContext(connection) as queries:
        changed = update_match_keys(leads={lead.pk: stored, unchanged.pk: same})
    assert changed == 1
    (statement,) = [q["sql"] for q in queries.captured_queries]
    assert "UPDATE" in statement
    assert "SELECT" not in statement
    lead.refresh_from_db()
    assert (lead.name_key, lead.phone_e164) == ("ann lee|acme", "+49301234567")
    unchanged.refresh_from_db()
    assert (unchanged.name_key, unchanged.phone_e164) == ("bo|y", "")


def test_a_batch_that_sends_part_of_a_key_recomputes_it_from_the_stored_fields_without_reading_them():
    lead = ingest(email="a@x.com", first_name="Ann", last_name="Lee", company="X", phone="030 1234567")
    assert lead.phone_e164 == ""  # no country: a national number has no region
    with CaptureQueriesContext(connection) as queries:
        result = upsert_leads(
            items=[
                {"email": "a@x.com", "country": "DE"},
                {"email": "new@x.com", "company": "X", "country": "US"},
            ]
        )
    assert [r.status for r in result.results] == ["updated", "created"]
    lead.refresh_from_db()
    assert (lead.name_key, lead.phone_e164, lead.country) == ("ann lee|x", "+49301234567", "DE")
    if connection.vendor == "postgresql":  # SQLite reads the stored fields back in a statement of their own
        reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        assert not [sql for sql in reads if "phone" in sql]


def test_the_pairs_list_is_one_statement_and_names_each_pair_once():
    a = ingest(email="a@x.com", first_name="Ann", last_name="Lee", company="X", phone="+14155550100")
    b = ingest(email="b@x.com", first_name="Ann", last_name="Lee", company="X", phone="+1 415 555 0100")
    c = ingest(email="c@x.com", external_id="e-1")
    d = ingest(email="d@x.com", external_id="e-1")
    ingest(email="e@x.com", first_name="Solo", company="Z")
    pairs = likely_pairs()
    assert [(p.first.pk, p.second.pk, p.reasons) for p in pairs] == [
        (c.pk, d.pk, ("external_id",)),
        (a.pk, b.pk, ("name", "phone")),
    ]


@pytest.fixture
def pair(manager, marketer):
    survivor = ingest(email="kim@acme.com", first_name="Kim", last_name="Park", company="Acme")
    other = ingest(
        email="kim.park@gmail.com",
        first_name="Kim",
        last_name="Park",
        company="Acme",
        job_title="CTO",
        phone="+14155550100",
        country="US",
    )
    Activity.objects.create(lead=other, type="demo_request", occurred_at=at(11, 3))
    Note.objects.create(lead=other, author=marketer, body="Met at the fair")
    ScoreChange.objects.create(lead=other, at=at(11, 3), model_version=1, score=10, grade="C", reason="test")
    record(actor=marketer, action="lead.updated", obj=other)
    return survivor, other


def test_a_merge_moves_the_history_fills_empty_fields_and_records_itself(
    pair, manager, django_capture_on_commit_callbacks
):
    survivor, other = pair
    other_id = other.pk
    with django_capture_on_commit_callbacks() as callbacks:
        merged = merge_leads(survivor_id=survivor.pk, other_id=other_id, actor=manager)
    assert not Lead.objects.filter(pk=other_id).exists()
    assert (merged.email, merged.job_title, merged.phone, merged.country) == (
        "kim@acme.com",
        "CTO",
        "+14155550100",
        "US",
    )
    assert merged.phone_e164 == "+14155550100"
    assert Activity.objects.filter(lead=merged, type="demo_request").exists()
    assert Note.objects.filter(lead=merged, body="Met at the fair").exists()
    assert Transition.objects.filter(lead=merged).count() == 2  # both first transitions
    assert ScoreChange.objects.filter(lead=merged, reason="test").exists()
    assert AuditEvent.objects.filter(action="lead.updated", object_id=str(merged.pk)).exists()
    assert (
        AuditEvent.objects.filter(action="lead.merged", object_id=str(merged.pk)).get().data["other"]
        == other_id
    )
    assert AuditEvent.objects.filter(action="lead.merged_away", object_id=str(other_id)).exists()
    note = Note.objects.filter(lead=merged, author=manager).get()
    assert f"#{other_id}" in note.body
    assert "kim.park@gmail.com" in note.body
    assert LeadAlias.objects.get().email == "kim.park@gmail.com"
    assert len(callbacks) >= 1  # the survivor is rescored after the commit


def test_a_later_upsert_of_the_merged_email_updates_the_survivor(pair, manager):
    survivor, other = pair
    merge_leads(survivor_id=survivor.pk, other_id=other.pk, actor=manager)
    result = upsert_leads(items=[{"email": "KIM.PARK@gmail.com", "industry": "Software"}])
    assert [(r.status, r.id) for r in result.results] == [("updated", survivor.pk)]
    assert Lead.objects.count() == 1
    assert Lead.objects.get().industry == "Software"
    with pytest.raises(ValidationProblem) as refused:
        update_lead(lead=ingest(email="third@x.com"), fields={"email": "kim.park@gmail.com"})
    assert "merged" in refused.value.errors["email"][0]


def test_merging_a_lead_waiting_in_a_hand_off_is_a_409(manager, rep):
    waiting = journey(created=at(11, 1)).to("mql", at(11, 2)).lead
    handoff(waiting, rep, assigned=at(11, 2), due=at(11, 3))
    other = ingest(email="plain@x.com")
    client = client_for(manager)
    assert (
        client.post(f"/api/v1/leads/{other.pk}/merge/", {"other": waiting.pk}, format="json").status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/leads/{waiting.pk}/merge/", {"other": other.pk}, format="json").status_code
        == 409
    )
    assert Lead.objects.filter(pk__in=[waiting.pk, other.pk]).count() == 2


def test_only_managers_merge_and_the_api_answers_the_survivor(pair, manager, marketer, rep):
    survivor, other = pair
    for user in (marketer, rep):
        response = client_for(user).post(
            f"/api/v1/leads/{survivor.pk}/merge/", {"other": other.pk}, format="json"
        )
        assert response.status_code in (403, 404)
    assert Lead.objects.filter(pk=other.pk).exists()
    client = client_for(manager)
    assert (
        client.post(f"/api/v1/leads/{survivor.pk}/merge/", {"other": survivor.pk}, format="json").status_code
        == 400
    )
    assert (
        client.post(f"/api/v1/leads/{survivor.pk}/merge/", {"other": "x"}, format="json").status_code == 400
    )
    response = client.post(f"/api/v1/leads/{survivor.pk}/merge/", {"other": other.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["job_title"] == "CTO"


def test_the_duplicates_api_names_the_reasons(pair, marketer):
    survivor, other = pair
    response = client_for(marketer).get(f"/api/v1/leads/{survivor.pk}/duplicates/")
    assert response.status_code == 200
    assert [(d["lead"]["id"], d["reasons"]) for d in response.json()] == [(other.pk, ["name"])]


def test_kpis_count_the_survivor_of_two_merged_leads_once(manager, rep):
    # Two records of one person, both accepted by sales in November (so neither waits in a hand-off).
    first = journey(created=at(11, 1)).to("mql", at(11, 2)).to("sal", at(11, 2, 12)).lead
    second = journey(created=at(11, 3)).to("mql", at(11, 4)).to("sal", at(11, 4, 12)).lead
    handoff(first, rep, assigned=at(11, 2), due=at(11, 3), status="accepted", closed=at(11, 2, 12))
    handoff(second, rep, assigned=at(11, 4), due=at(11, 5), status="accepted", closed=at(11, 4, 12))
    compute_snapshots(period="2026-11", now=at(12, 10))
    before = dict(
        KpiSnapshot.objects.filter(period="2026-11", scope_kind="all").values_list("metric", "value")
    )
    assert (before["new_leads"], before["mqls"], before["sals"]) == (2, 2, 2)
    merge_leads(survivor_id=first.pk, other_id=second.pk, actor=manager)
    assert Handoff.objects.filter(lead=first).count() == 2
    compute_snapshots(period="2026-11", now=at(12, 10))
    after = dict(
        KpiSnapshot.objects.filter(period="2026-11", scope_kind="all").values_list("metric", "value")
    )
    assert (after["new_leads"], after["mqls"], after["sals"]) == (1, 1, 1)
