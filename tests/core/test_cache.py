"""The Redis cache keeps one client per connection pool, shared by every call and thread of a process."""

from __future__ import annotations

import os
import threading

from core.cache import FailOpenRedisCache, get_and_count
from tests.conftest import needs_redis


def test_every_call_gets_the_same_client_of_the_same_pool():
    # Nothing connects until a command is sent: any URL will do.
    cache = FailOpenRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {}})
    first = cache._cache.get_client("a", write=True)
    assert cache._cache.get_client("b") is first
    assert cache._cache.get_client(None, write=True) is first
    assert first.connection_pool is cache._cache._get_connection_pool(True)


@needs_redis
def test_threads_sharing_the_client_each_read_their_own_values(settings):
    cache = FailOpenRedisCache(os.environ["REDIS_URL"], {"OPTIONS": {}, "KEY_PREFIX": "shared-client-test"})
    errors: list[str] = []

    def work(n: int) -> None:
        for i in range(50):
            cache.set(f"k{n}", (n, i), timeout=30)
            if cache.get(f"k{n}") != (n, i):
                errors.append(f"thread {n} read another value at {i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.delete_many([f"k{n}" for n in range(4)])
    assert errors == []


@needs_redis
def test_a_token_look_up_counts_through_the_shared_client(settings):
    from django.core.cache import cache

    cache.set("looked-up", {"user": 7}, timeout=30)
    cache.delete("hits")
    assert get_and_count("looked-up", "hits", timeout=30) == ({"user": 7}, 1)
    assert get_and_count("looked-up", "hits", timeout=30) == ({"user": 7}, 2)
    assert cache.get("hits") == 2
