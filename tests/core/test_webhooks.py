"""Webhooks: endpoints, the outbox, signed delivery to a real HTTP receiver, retries, the sweep, SSRF."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from core.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.tasks import deliver_webhooks_task, sweep_webhook_deliveries_task
from core.webhook_delivery import deliver, sweep_deliveries
from core.webhooks import create_endpoint
from leads.ingest import upsert_leads
from tests.conftest import client_for
from tests.core.webhook_receiver import start_receiver, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(receiver, manager):
    endpoint, _ = create_endpoint(
        actor=manager, url=receiver.url, events=["lead.created", "lead.stage_changed"]
    )
    return endpoint


def pending_ids():
    return list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))


def test_a_manager_registers_an_endpoint_and_sees_the_secret_only_once(receiver, manager):
    client = client_for(manager)
    created = client.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["lead.created", "sla.breached"]}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["lead.created", "sla.breached"]
    assert body["active"] is True
    assert WebhookEndpoint.objects.get().secret == body["secret"]
    shown = client.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in shown
    assert "secret" not in client.get("/api/v1/webhooks/").json()[0]
    changed = client.patch(f"/api/v1/webhooks/{body['id']}/", {"active": False}, format="json")
    assert changed.status_code == 200
    assert changed.json()["active"] is False
    assert client.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_managers_may_use_the_webhook_api(who, request, receiver):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/api/v1/webhooks/").status_code == 403
    response = client.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["lead.created"]}, format="json"
    )
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_endpoints_on_loopback_private_or_link_local_addresses_are_refused(url, manager, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = client_for(manager).post(
        "/api/v1/webhooks/", {"url": url, "events": ["lead.created"]}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_unknown_events_and_other_schemes_are_refused(manager, receiver):
    client = client_for(manager)
    wrong_event = client.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["lead.eaten"]}, format="json"
    )
    assert wrong_event.status_code == 400
    assert "events.0" in wrong_event.json()["errors"] or "events" in wrong_event.json()["errors"]
    ftp = client.post(
        "/api/v1/webhooks/", {"url": "ftp://example.com/x", "events": ["lead.created"]}, format="json"
    )
    assert ftp.status_code == 400


def test_nothing_is_written_to_the_outbox_while_nobody_subscribes(db):
    upsert_leads(items=[{"email": "quiet@example.com"}])
    assert not WebhookEvent.objects.exists()


def test_a_created_lead_arrives_signed_at_a_real_receiver(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        lead_id = upsert_leads(items=[{"email": "new@example.com", "first_name": "Nia"}]).lead_ids[0]
    # The event is in the outbox with the change, and its delivery is queued only after the commit.
    assert WebhookEvent.objects.filter(event="lead.created").count() == 1
    assert len(callbacks) >= 1
    assert deliver_webhooks_task(delivery_ids=pending_ids()) == 1
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert verify(endpoint.secret, headers["Alignment-Signature"], body)
    assert not verify("whsec_wrong", headers["Alignment-Signature"], body)
    assert not verify(endpoint.secret, headers["Alignment-Signature"], body + b" ")
    payload = json.loads(body)
    assert set(payload) == {"id", "event", "occurred_at", "data"}
    assert payload["event"] == "lead.created"
    assert payload["id"] == str(WebhookEvent.objects.get().uid)
    assert payload["data"]["lead"]["id"] == lead_id
    assert payload["data"]["lead"]["email"] == "new@example.com"
    assert payload["data"]["lead"]["stage"] == "inquiry"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.last_status_code == 200
    # A repeated message finds the row delivered and sends nothing.
    assert deliver_webhooks_task(delivery_ids=[delivery.pk]) == 0
    assert len(receiver.requests) == 1


def test_a_receiver_that_answers_500_three_times_gets_the_event_on_the_fourth_try(endpoint, receiver):
    receiver.answers = [500, 500, 500]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        upsert_leads(items=[{"email": "retry@example.com"}])
        [delivery_id] = pending_ids()
        assert deliver(delivery_id=delivery_id) == DeliveryStatus.PENDING
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at == start + timedelta(minutes=1)
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert sweep_deliveries() == []  # not due yet: backing off
    for minutes, expected_wait in ((1, 2), (3, 4)):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert sweep_deliveries() == [delivery_id]
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == start + timedelta(minutes=minutes + expected_wait)
    with time_machine.travel(start + timedelta(minutes=7), tick=False):
        assert sweep_webhook_deliveries_task() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 4
    assert len(receiver.requests) == 4
    ids = {json.loads(body)["id"] for _, body in receiver.requests}
    assert len(ids) == 1  # the same event every time: the receiver can drop repeats
    log = list(WebhookAttempt.objects.order_by("at").values_list("status_code", flat=True))
    assert log == [500, 500, 500, 200]


def test_a_delivery_that_keeps_failing_is_marked_failed_after_24_hours(endpoint, receiver):
    receiver.answers = [503] * 50
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        upsert_leads(items=[{"email": "down@example.com"}])
    now = start
    while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
        now = WebhookDelivery.objects.get().next_attempt_at
        with time_machine.travel(now, tick=False):
            sweep_deliveries()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert now == start + timedelta(hours=24)
    assert 8 < delivery.attempts < 20  # exponential, not every minute
    assert delivery.attempts == len(receiver.requests)


def test_a_delivery_left_in_progress_by_a_killed_worker_is_delivered_by_the_sweep(endpoint, receiver):
    upsert_leads(items=[{"email": "killed@example.com"}])
    now = timezone.now()
    # A worker claimed the row and died before it could POST or record anything.
    WebhookDelivery.objects.update(status=DeliveryStatus.IN_PROGRESS, claimed_at=now - timedelta(minutes=1))
    assert sweep_deliveries(now=now) == []  # a fresh claim may still be working
    assert receiver.requests == []
    WebhookDelivery.objects.update(claimed_at=now - timedelta(minutes=6))
    assert sweep_deliveries(now=now) == pending_ids()
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_an_address_that_turns_private_is_refused_at_delivery_time(endpoint, receiver, settings):
    upsert_leads(items=[{"email": "rebind@example.com"}])
    settings.WEBHOOK_ALLOW_PRIVATE = False
    [delivery_id] = pending_ids()
    assert deliver(delivery_id=delivery_id) == DeliveryStatus.PENDING
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "loopback" in attempt.error


def test_stage_moves_are_emitted_set_based_with_a_constant_number_of_queries(
    endpoint, django_assert_max_num_queries
):
    upsert_leads(items=[{"email": "one@example.com"}])
    with django_assert_max_num_queries(14):
        upsert_leads(items=[{"email": f"many{i}@example.com"} for i in range(200)])
    assert WebhookEvent.objects.filter(event="lead.created").count() == 201


def test_the_delivery_log_lists_attempts_and_a_delivery_can_be_sent_again(
    endpoint, receiver, manager, django_capture_on_commit_callbacks
):
    receiver.answers = [500]
    upsert_leads(items=[{"email": "log@example.com"}])
    [delivery_id] = pending_ids()
    deliver(delivery_id=delivery_id)
    client = client_for(manager)
    log = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()
    assert set(log) == {"next", "previous", "results"}
    [row] = log["results"]
    assert row["id"] == delivery_id
    assert row["event"] == "lead.created"
    assert row["status"] == "pending"
    assert row["last_status_code"] == 500
    assert [a["status_code"] for a in row["attempt_log"]] == [500]
    with django_capture_on_commit_callbacks() as callbacks:
        again = client.post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery_id}/redeliver/")
    assert again.status_code == 202
    assert len(callbacks) == 1
    deliver_webhooks_task(delivery_ids=[delivery_id])
    row = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()["results"][0]
    assert row["status"] == "succeeded"
    assert [a["status_code"] for a in row["attempt_log"]] == [200, 500]
    assert client.post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/999999/redeliver/").status_code == 404


def _readme_block(language: str) -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Receiving webhooks", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_readme_recipes_verify_a_real_delivery(endpoint, receiver, tmp_path):
    upsert_leads(items=[{"email": "recipe@example.com"}])
    deliver_webhooks_task(delivery_ids=pending_ids())
    headers, body = receiver.requests[0]
    header = headers["Alignment-Signature"]
    namespace: dict = {}
    exec(_readme_block("python"), namespace)  # noqa: S102 - the README's own recipe, run as a receiver would
    assert namespace["verify"](endpoint.secret, header, body)
    assert not namespace["verify"](endpoint.secret, header, body.replace(b"recipe", b"Recipe"))
    parts = dict(item.split("=", 1) for item in header.split(","))
    (tmp_path / "body.json").write_bytes(body)
    result = subprocess.run(  # noqa: S603 - the README's own openssl recipe
        ["/bin/bash", "-c", _readme_block("sh")],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "t": parts["t"], "WEBHOOK_SECRET": endpoint.secret},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == parts["v1"]
