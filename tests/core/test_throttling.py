"""The request counter behind the API throttle."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from redis.client import Pipeline

from core.authentication import BearerTokenAuthentication
from core.models import hash_token
from core.throttling import ClientRateThrottle, count_hit
from core.tokens import issue_token
from tests.conftest import needs_redis


def test_each_hit_counts_once_in_its_window():
    assert [count_hit("throttle_test:window-a", timeout=5) for _ in range(3)] == [1, 2, 3]
    assert count_hit("throttle_test:window-b", timeout=5) == 1


@needs_redis
def test_on_redis_a_hit_is_one_round_trip_and_the_counter_expires_with_its_window(monkeypatch):
    backend = caches["default"]
    key = backend.make_and_validate_key("throttle_test:one-trip")
    client = backend._cache.get_client(key, write=True)
    client.delete(key)
    trips = []
    execute = Pipeline.execute

    def counted_execute(pipe, *args, **kwargs):
        trips.append(len(pipe.command_stack))
        return execute(pipe, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    assert [count_hit("throttle_test:one-trip", timeout=7) for _ in range(2)] == [1, 2]
    assert trips == [2, 2]  # one pipeline (one round trip) of two commands per hit
    assert 0 < client.ttl(key) <= 7
    assert backend.get("throttle_test:one-trip") == 2


def _bearer_request(secret: str):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    return Request(APIRequestFactory().post("/api/v1/leads/", HTTP_AUTHORIZATION=f"Bearer {secret}"))


def _round_trips(monkeypatch) -> list[str]:
    from redis.client import Redis

    trips: list[str] = []
    execute, command = Pipeline.execute, Redis.execute_command

    def counted_execute(pipe, *args, **kwargs):
        trips.append("pipeline")
        return execute(pipe, *args, **kwargs)

    def counted_command(client, *args, **kwargs):
        trips.append(str(args[0]))
        return command(client, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    monkeypatch.setattr(Redis, "execute_command", counted_command)
    return trips


@needs_redis
@pytest.mark.django_db
def test_on_redis_a_cached_token_and_its_throttle_hit_are_one_round_trip(marketer, monkeypatch):
    secret = issue_token(user=marketer, name="t", scopes=["ingest"]).secret
    authentication, throttle = BearerTokenAuthentication(), ClientRateThrottle()
    first = _bearer_request(secret)
    assert authentication.authenticate(first)[1].key_hash == hash_token(secret)  # looks it up, caches it
    trips = _round_trips(monkeypatch)
    request = _bearer_request(secret)
    user, token = authentication.authenticate(request)
    request.user, request.auth = user, token
    assert throttle.allow_request(request, None) is True
    assert (user, token.key_hash) == (marketer, hash_token(secret))
    assert trips == ["pipeline"]
    window = ClientRateThrottle.token_window(token.key_hash)
    assert caches["default"].get(window.key) == 2  # both requests counted once each


@pytest.mark.django_db
def test_a_hit_counted_by_authentication_is_the_one_the_throttle_judges(marketer, monkeypatch):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "2/min"})
    secret = issue_token(user=marketer, name="t", scopes=["ingest"]).secret
    verdicts = []
    for _ in range(3):
        request = _bearer_request(secret)
        request.user, request.auth = BearerTokenAuthentication().authenticate(request)
        verdicts.append(ClientRateThrottle().allow_request(request, None))
    assert verdicts == [True, True, False]


@needs_redis
@pytest.mark.django_db
def test_on_redis_an_ingest_request_makes_one_round_trip_to_the_cache(marketer, monkeypatch):
    from tests.conftest import client_for

    client = client_for(marketer, scopes=["ingest"])
    client.post("/api/v1/leads/", {"email": "warm@example.com"}, format="json")  # caches token, webhooks
    trips = _round_trips(monkeypatch)
    response = client.post("/api/v1/leads/", {"email": "one@example.com"}, format="json")
    assert response.status_code == 201
    assert trips == ["pipeline"]  # token, throttle hit and subscribed webhook events together
