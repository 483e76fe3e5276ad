"""The webhooks page: managers register endpoints (secret shown once), edit them, read the log, resend."""

from __future__ import annotations

import pytest

from core.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from core.webhook_delivery import deliver
from leads.ingest import upsert_leads
from tests.core.webhook_receiver import start_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def test_a_manager_registers_an_endpoint_and_sees_its_secret_once(client, manager, receiver):
    client.force_login(manager)
    response = client.post("/webhooks/", {"url": receiver.url, "events": ["lead.created"], "active": "on"})
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["lead.created"]
    assert endpoint.secret in response.content.decode()
    listing = client.get("/webhooks/").content.decode()
    assert receiver.url in listing
    assert endpoint.secret not in listing
    assert "Webhooks" in listing  # in the navigation


def test_a_private_address_is_refused_on_the_page(client, manager, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(manager)
    response = client.post("/webhooks/", {"url": "http://127.0.0.1/x", "events": ["lead.created"]})
    assert response.status_code == 400
    assert "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_log_shows_attempts_and_a_delivery_is_sent_again(
    client, manager, receiver, django_assert_max_num_queries
):
    client.force_login(manager)
    client.post("/webhooks/", {"url": receiver.url, "events": ["lead.created"], "active": "on"})
    endpoint = WebhookEndpoint.objects.get()
    receiver.answers = [500]
    upsert_leads(items=[{"email": f"p{i}@example.com"} for i in range(5)])
    for delivery in WebhookDelivery.objects.all():
        deliver(delivery_id=delivery.pk)
    with django_assert_max_num_queries(8):
        page = client.get(f"/webhooks/{endpoint.pk}/")
    html = page.content.decode()
    assert html.count("Send again") == 5
    assert "<strong>500</strong>" in html
    assert html.count("<strong>200</strong>") == 4
    failed = WebhookDelivery.objects.get(last_status_code=500)
    assert failed.status == DeliveryStatus.PENDING
    response = client.post(f"/webhooks/{endpoint.pk}/deliveries/{failed.pk}/redeliver/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.next_attempt_at is not None
    edited = client.post(f"/webhooks/{endpoint.pk}/", {"url": receiver.url, "events": ["sla.breached"]})
    assert edited.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.active) == (["sla.breached"], False)


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_managers_see_the_webhooks_page(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/webhooks/").status_code == 403
    assert "/webhooks/" not in client.get("/leads/").content.decode()
