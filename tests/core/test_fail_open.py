"""Redis down: the cache fails open (logged once per burst); a database disconnect is a 503, never a 500,
in the API (problem+json) and on the pages (the 503 page)."""

from __future__ import annotations

import logging
import socket

import pytest
from django.db import OperationalError, connection
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


def lost_connection(execute, sql, params, many, context):
    """Every query fails as it does once PostgreSQL has gone away."""
    raise OperationalError("server closed the connection unexpectedly")


class LosesTheConnectionOnTheWayOut:
    """Stands for a middleware whose database work fails after the view (saving the session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.get_response(request)
        raise OperationalError("terminating connection due to administrator command")


def assert_is_the_503_page(response) -> None:
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "2"
    page = response.content.decode()
    assert "briefly unavailable" in page
    assert "nothing you just sent was saved" in page
    assert "css/app.css" in page  # the product's own stylesheet and header, not a bare server page
    assert 'class="brand"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/leads/", {}),
        ("get", "/", {}),
        ("post", "/leads/new/", {"email": "new@example.com", "first_name": "New"}),
    ],
)
def test_a_page_whose_database_connection_is_lost_is_the_503_page_with_retry_after(
    client, rep, method, url, data
):
    client.force_login(rep)
    with connection.execute_wrapper(lost_connection):
        response = getattr(client, method)(url, data)
    assert_is_the_503_page(response)


@pytest.mark.django_db
def test_the_503_page_is_made_without_the_database(client, rep):
    """The page must not need what just failed: no query runs once the error is caught."""
    queries: list[str] = []

    def lost_after_first_failure(execute, sql, params, many, context):
        queries.append(sql)
        raise OperationalError("server closed the connection unexpectedly")

    client.force_login(rep)
    with connection.execute_wrapper(lost_after_first_failure):
        response = client.get("/leads/")
    assert_is_the_503_page(response)
    assert len(queries) == 1  # the session look-up that failed; the page itself asked for nothing


@pytest.mark.django_db
def test_a_connection_lost_in_a_middleware_is_a_503_page_too(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.LosesTheConnectionOnTheWayOut"]
    client.raise_request_exception = False
    assert_is_the_503_page(client.get("/accounts/login/"))


@pytest.mark.django_db
def test_a_connection_lost_in_a_middleware_on_the_api_is_a_503_problem(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.LosesTheConnectionOnTheWayOut"]
    client.raise_request_exception = False
    response = client.get("/api/v1/stages/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "2"
    assert response.json()["status"] == 503


@pytest.mark.django_db
def test_any_other_failure_in_a_page_is_still_the_500_page(client, settings):
    """Only a lost connection is a 503: a bug stays a 500, so it is not mistaken for an outage."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailsOnTheWayOut"]
    client.raise_request_exception = False
    response = client.get("/accounts/login/")
    assert response.status_code == 500
    assert "Retry-After" not in response


class FailsOnTheWayOut:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.get_response(request)
        raise RuntimeError("a bug")
