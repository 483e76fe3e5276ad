"""The shared cache (Redis), failing open: when Redis does not answer, the request goes on without it.

Everything the app keeps in the cache can be done without it: a token look-up falls back to the database, a
throttle lets the request through, a web form's rate limit is skipped. A Redis restart must therefore cost
a little speed, never a ``500``. Each failure is logged as a warning, once per burst
(``core.burst_log``), not once per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from core.burst_log import BurstWarning

logger = logging.getLogger(__name__)

_warning = BurstWarning(logger)
cache_warning = _warning  # for the few cache users that talk to Redis directly (core.throttling)

T = TypeVar("T")

# TRICKY: OSError too: a socket refused or reset below redis-py can surface as a plain OSError.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


# Keys that most API requests read (``ride_along``), and their values for the current request.
_riders: list[str] = []
_this_request = threading.local()


def ride_along(key: str) -> None:
    """Fetch ``key`` in the cache round trip of every bearer-token request (``get_and_count``) and keep its
    value for the rest of that request (``request_value``): one round trip fewer for a value read on most
    requests. Whoever changes the value calls ``forget_request_value`` too."""
    if key not in _riders:
        _riders.append(key)


def request_value(key: str) -> tuple[bool, Any]:
    """(True, value) when ``key`` was fetched for the current request (value None: not in the cache)."""
    values = getattr(_this_request, "values", None)
    if values is None or key not in values:
        return False, None
    return True, values[key]


def forget_request_value(key: str) -> None:
    values = getattr(_this_request, "values", None)
    if values is not None:
        values.pop(key, None)


def begin_request(**kwargs: Any) -> None:
    """``request_started``: values fetched from now on are kept until the request finishes."""
    _this_request.values = {}


def end_request(**kwargs: Any) -> None:
    """``request_finished``: nothing is kept outside a request (a worker or a test reads the cache)."""
    _this_request.values = None


def get_and_count(key: str, counter: str, *, timeout: int) -> tuple[Any, int]:
    """The cached value of ``key`` (None when absent) and one more hit in ``counter`` (created with an expiry
    of ``timeout`` seconds), atomically across web workers: one round trip on Redis, which also fetches the
    keys that ride along (``ride_along``) for the current request.

    With Redis down the value is absent and the count is 1 (fails open); other backends take two calls.
    """
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        value = backend.get(key)
        backend.add(counter, 0, timeout=timeout)
        try:
            return value, backend.incr(counter)
        except ValueError:  # expired between add() and incr()
            backend.add(counter, 1, timeout=timeout)
            return value, 1
    full_key, full_counter = backend.make_and_validate_key(key), backend.make_and_validate_key(counter)
    # TRICKY: Django's Redis backend has no public way to pipeline; its client and serializer are the ones it
    # uses for every other call, so values written by ``cache.set`` read back the same, and plain integers
    # are stored as such (the counter stays readable with ``cache.get``).
    client_of = backend._cache  # type: ignore[attr-defined]  # private, not in the stubs
    pipe = client_of.get_client(full_key, write=True).pipeline(transaction=False)
    pipe.get(full_key)
    pipe.set(full_counter, 0, ex=timeout, nx=True)
    pipe.incr(full_counter)
    values = getattr(_this_request, "values", None)
    riders = list(_riders) if values is not None else []
    for rider in riders:
        pipe.get(backend.make_and_validate_key(rider))
    try:
        raw, _, count, *ridden = pipe.execute()
    except CACHE_ERRORS as exc:
        _warning.warn("cache unavailable (get_and_count: %r); carrying on without it", exc)
        return None, 1
    loads = client_of._serializer.loads
    if values is not None:
        values.update(
            (rider, None if found is None else loads(found))
            for rider, found in zip(riders, ridden, strict=True)
        )
    return (None if raw is None else loads(raw)), int(count)


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, with one ``redis.Redis`` per connection pool, not a new one per call.

    Django builds a ``redis.Redis`` for every cache call; with redis-py 8 that costs about 130 µs of CPU
    (it fills a table of some 170 response callbacks), more than a cache hit's own work. A ``redis.Redis``
    holds no connection of its own (it takes one from the pool per command) and is safe to share between
    threads, so one per pool serves the whole process.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private, not in the stubs
        client = self._clients.get(id(pool))  # pools live as long as this object: an id is never reused
        if client is None:
            make = self._client  # type: ignore[attr-defined]  # redis.Redis; private, not in the stubs
            client = self._clients[id(pool)] = make(connection_pool=pool)
        return client


class FailOpenRedisCache(RedisCache):
    """Django's ``RedisCache`` whose every operation answers "nothing cached" when Redis is down.

    ``get`` returns the default, ``add``/``delete``/``touch``/``has_key`` return False, ``set`` does
    nothing, ``incr`` counts as if the key were new (a throttle counting nothing lets requests through).
    Give it short socket timeouts in ``OPTIONS`` so a hung Redis costs milliseconds, not a request.
    """

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def _fail_open(self, operation: str, fallback: T, call: Callable[..., T], *args: Any) -> T:
        try:
            return call(*args)
        except CACHE_ERRORS as exc:
            _warning.warn("cache unavailable (%s: %r); carrying on without it", operation, exc)
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._fail_open("add", False, super().add, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._fail_open("get", default, super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        self._fail_open("set", None, super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._fail_open("touch", False, super().touch, key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._fail_open("delete", False, super().delete, key, version)

    def get_many(self, keys: Any, version: Any = None) -> dict[str, Any]:
        return self._fail_open("get_many", {}, super().get_many, keys, version)

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._fail_open("has_key", False, super().has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return self._fail_open("incr", delta, super().incr, key, delta, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._fail_open("set_many", [], super().set_many, data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._fail_open("delete_many", None, super().delete_many, keys, version)

    def clear(self) -> None:
        self._fail_open("clear", None, super().clear)
