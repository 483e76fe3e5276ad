"""The request counter behind the API throttle."""

from __future__ import annotations

from django.core.cache import caches
from redis.client import Pipeline

from core.throttling import count_hit
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
