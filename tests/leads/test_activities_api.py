from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from leads.models import Activity
from scoring.tasks import score_leads_task
from tests.conftest import client_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/activities/"
BATCH = "/api/v1/activities/batch/"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def lead():
    return LeadFactory(email="ann@acme.example")


def test_an_activity_by_lead_id_is_stored_with_its_time_and_answers_201(ingest_client, lead):
    response = ingest_client.post(
        URL,
        {
            "lead": lead.pk,
            "type": "demo_request",
            "occurred_at": "2026-11-01T10:00:00Z",
            "metadata": {"a": 1},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["lead"], body["type"], body["metadata"]) == (lead.pk, "demo_request", {"a": 1})
    stored = Activity.objects.get()
    assert stored.occurred_at == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_an_activity_by_email_defaults_to_now(ingest_client, lead):
    response = ingest_client.post(URL, {"email": "ANN@acme.example ", "type": "page_view"}, format="json")
    assert response.status_code == 201
    assert Activity.objects.get().lead_id == lead.pk
    assert Activity.objects.get().occurred_at == NOW


def test_an_email_with_no_lead_is_a_400_naming_the_field(ingest_client):
    response = ingest_client.post(URL, {"email": "nobody@acme.example", "type": "page_view"}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "email" in response.json()["errors"]
    assert not Activity.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_an_activity_in_the_future_is_refused(ingest_client, lead):
    later = (NOW + timedelta(hours=1)).isoformat()
    response = ingest_client.post(URL, {"lead": lead.pk, "type": "call", "occurred_at": later}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"occurred_at": ["Must not be in the future."]}


@time_machine.travel(NOW, tick=False)
def test_a_clock_a_few_seconds_ahead_is_stored_as_now(ingest_client, lead):
    ahead = (NOW + timedelta(seconds=20)).isoformat()
    response = ingest_client.post(URL, {"lead": lead.pk, "type": "call", "occurred_at": ahead}, format="json")
    assert response.status_code == 201
    assert Activity.objects.get().occurred_at == NOW


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "page_view"}, "lead"),
        ({"lead": 1, "type": "dance"}, "type"),
        ({"lead": 1, "type": "call", "occurred_at": "yesterday"}, "occurred_at"),
        ({"lead": 1, "type": "call", "occurred_at": "2026-11-01T10:00:00"}, "occurred_at"),
        ({"lead": 1, "type": "call", "colour": "red"}, "colour"),
        ({"lead": "1; drop table", "type": "call"}, "lead"),
        ({"lead": True, "type": "call"}, "lead"),
        ({"lead": 1, "type": "call", "metadata": {"x": "\u0000"}}, "metadata"),
        ({"lead": 1, "type": "call", "metadata": {"x": "y" * 20_000}}, "metadata"),
        ({"lead": 1, "type": "call", "external_id": "a\u0000b"}, "external_id"),
        ({"lead": 1, "type": "call", "metadata": []}, "metadata"),
    ],
)
def test_malformed_activities_are_400s_naming_the_field(ingest_client, payload, field):
    response = ingest_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_lead_id_and_an_email_naming_different_leads_is_a_400(ingest_client, lead):
    other = LeadFactory(email="bob@acme.example")
    response = ingest_client.post(URL, {"lead": other.pk, "email": lead.email, "type": "call"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_a_resent_external_id_is_stored_once_and_answers_200(ingest_client, lead):
    payload = {
        "lead": lead.pk,
        "type": "email_open",
        "external_id": "evt-1",
        "occurred_at": "2026-11-01T10:00:00Z",
    }
    first = ingest_client.post(URL, payload, format="json")
    again = ingest_client.post(URL, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Activity.objects.count() == 1


def test_a_batch_reports_each_item_and_bad_items_never_block_good_ones(ingest_client, lead):
    response = ingest_client.post(
        BATCH,
        {
            "activities": [
                {"lead": lead.pk, "type": "page_view", "external_id": "e1"},
                {"email": "missing@acme.example", "type": "page_view"},
                {"email": lead.email, "type": "pricing_page_view"},
                {"lead": lead.pk, "type": "demo_request", "external_id": "e1"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["errors"]) == (2, 1, 1)
    assert [r["status"] for r in body["results"]] == ["created", "error", "created", "updated"]
    assert body["results"][0]["id"] == body["results"][3]["id"]
    assert "email" in body["results"][1]["errors"]
    assert sorted(Activity.objects.values_list("type", flat=True)) == ["demo_request", "pricing_page_view"]


def test_a_batch_queues_one_rescore_for_all_its_leads_on_commit(
    ingest_client, lead, django_capture_on_commit_callbacks, monkeypatch
):
    other = LeadFactory()
    queued = []
    monkeypatch.setattr(score_leads_task, "apply_async", lambda args, kwargs, **options: queued.append(args))
    items = [{"lead": pk, "type": "page_view"} for pk in (lead.pk, other.pk, lead.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(BATCH, {"activities": items}, format="json")
    assert response.status_code == 200
    assert queued == [(sorted([lead.pk, other.pk]),)]


def test_a_new_lead_queues_its_own_rescore_on_commit(
    ingest_client, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(score_leads_task, "apply_async", lambda args, kwargs, **options: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(
            "/api/v1/leads/batch/",
            {"leads": [{"email": "a@x.example"}, {"email": "b@x.example"}]},
            format="json",
        )
    assert response.status_code == 200
    assert queued == [(sorted(r["id"] for r in response.json()["results"]),)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "activities"),
        ({"activities": []}, "activities"),
        ({"activities": "x"}, "activities"),
        ({"x": 1}, "x"),
    ],
)
def test_a_malformed_batch_is_a_400(ingest_client, body, field):
    response = ingest_client.post(BATCH, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_batch_of_more_than_1000_is_a_400(ingest_client, lead):
    items = [{"lead": lead.pk, "type": "page_view"}] * 1001
    assert ingest_client.post(BATCH, {"activities": items}, format="json").status_code == 400


def test_a_batch_of_1000_is_stored_with_a_constant_number_of_queries(
    ingest_client, lead, django_assert_max_num_queries
):
    items = [{"lead": lead.pk, "type": "page_view", "external_id": f"k{i}"} for i in range(500)]
    items += [{"email": lead.email, "type": "email_open"} for _ in range(500)]
    with django_assert_max_num_queries(20):
        response = ingest_client.post(BATCH, {"activities": items}, format="json")
    assert response.json()["created"] == 1000
    assert Activity.objects.count() == 1000


def test_activities_need_the_ingest_scope(marketer, lead):
    reader = client_for(marketer, scopes=["read"])
    response = reader.post(URL, {"lead": lead.pk, "type": "call"}, format="json")
    assert response.status_code == 403


def test_activities_need_credentials(anonymous, lead):
    assert anonymous.post(URL, {"lead": lead.pk, "type": "call"}, format="json").status_code == 401


def test_a_repeated_idempotency_key_stores_the_activity_once(ingest_client, lead):
    payload = {"lead": lead.pk, "type": "call"}
    first = ingest_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = ingest_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert Activity.objects.count() == 1


def test_activities_list_newest_first_and_filter_by_lead(full_client, lead):
    other = LeadFactory()
    for days, target in ((3, lead), (1, lead), (2, other)):
        Activity.objects.create(lead=target, type="call", occurred_at=NOW - timedelta(days=days))
    response = full_client.get(URL, {"lead": lead.pk})
    assert response.status_code == 200
    times = [item["occurred_at"] for item in response.json()["results"]]
    assert len(times) == 2
    assert times == sorted(times, reverse=True)
