"""Redis down: the cache fails open (logged once per burst); a database disconnect is a 503, never a 500."""

from __future__ import annotations

import logging
import socket

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import core.cache
from core.burst_log import BurstWarning
from core.cache import FailOpenRedisCache
from core.idempotency import IdempotentPostMixin
from core.models import IdempotencyKey
from core.throttling import ClientRateThrottle

LEADS = "/api/v1/leads/"


def dead_redis_url() -> str:
    """A Redis URL on a port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def dead_cache_settings() -> dict:
    return {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": dead_redis_url(),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


class DisconnectedView(IdempotentPostMixin, APIView):
    """Stands for any API view whose database connection breaks half-way."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        raise OperationalError("terminating connection due to administrator command")


urlpatterns = [path("api/v1/test-disconnect/", DisconnectedView.as_view())]


def test_a_cache_that_does_not_answer_reads_nothing_and_writes_nothing_and_warns_once(caplog, monkeypatch):
    # A fresh burst: another test's outage may have been logged a moment ago.
    monkeypatch.setattr(core.cache, "_warning", BurstWarning(logging.getLogger("core.cache")))
    cache = FailOpenRedisCache(dead_redis_url(), {"OPTIONS": {"socket_connect_timeout": 1}})
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert cache.get("k", "default") == "default"
        cache.set("k", 1)
        assert cache.add("k", 1) is False
        assert cache.incr("k") == 1
        assert cache.get_many(["k"]) == {}
        assert cache.delete("k") is False
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1
    assert "cache unavailable" in warnings[0].getMessage()


@pytest.mark.django_db
def test_with_redis_down_a_token_still_authenticates_and_the_throttle_lets_requests_through(
    ingest_client, monkeypatch
):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1/min"})
    with override_settings(CACHES=dead_cache_settings()):
        first = ingest_client.post(LEADS, {"email": "a@example.com"}, format="json")
        second = ingest_client.post(LEADS, {"email": "b@example.com"}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)


@pytest.mark.django_db
def test_with_a_working_cache_the_same_throttle_refuses_the_second_request(ingest_client, monkeypatch):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1/min"})
    first = ingest_client.post(LEADS, {"email": "a@example.com"}, format="json")
    second = ingest_client.post(LEADS, {"email": "b@example.com"}, format="json")
    assert (first.status_code, second.status_code) == (201, 429)


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_lost_database_connection_is_a_503_with_retry_after_and_releases_the_idempotency_key(client):
    response = client.post(
        "/api/v1/test-disconnect/", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "2"
    assert response.json()["status"] == 503
    assert not IdempotencyKey.objects.filter(key="k1").exists()  # the client may retry with the same key
