from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from core.cache import CACHE_ERRORS, cache_warning
from core.models import ApiToken

# The attribute of a request holding (window key, hits) when authentication has counted it already.
COUNTED_ATTRIBUTE = "counted_hit"


def token_ident(key_hash: str) -> str:
    """A token's budget is named by its hash (known before the token is looked up), not by its id."""
    return f"token:{key_hash[:32]}"


@dataclass(frozen=True)
class Window:
    """A fixed window of a client's budget: its counter's key, the counter's lifetime and the seconds left."""

    key: str
    timeout: int
    ends_in: float


class ClientRateThrottle(SimpleRateThrottle):
    """One budget per token (or per user for browser sessions, per address for anonymous requests).

    A fixed-window counter: one atomic increment per request in the shared cache (Redis in production).
    DRF's default keeps every request's timestamp in a list that is read and written whole on each
    request, which costs more the higher the allowed rate, and two web workers can overwrite each other's
    list.
    """

    scope = "client"
    # Set from the rate by SimpleRateThrottle.__init__ (read only when there is a rate); not in the stubs.
    num_requests: int
    duration: int

    def get_cache_key(self, request: Any, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = token_ident(request.auth.key_hash)
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def _window(self, key: str) -> Window:
        now = time.time()
        window_start = int(now // self.duration) * self.duration
        return Window(
            key=f"{key}:{window_start}", timeout=self.duration + 1, ends_in=window_start + self.duration - now
        )

    @classmethod
    def token_window(cls, key_hash: str) -> Window | None:
        """The current window of a token's budget (None when there is no rate): bearer authentication counts
        the request in it in the same round trip as the token look-up (``core.tokens``)."""
        throttle = cls()
        if throttle.rate is None:
            return None
        return throttle._window(
            throttle.cache_format % {"scope": throttle.scope, "ident": token_ident(key_hash)}
        )

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        window = self._window(key)
        self.wait_seconds = window.ends_in
        counted = getattr(request, COUNTED_ATTRIBUTE, None)
        if counted is not None and counted[0] == window.key:
            hits = counted[1]
        else:
            hits = count_hit(window.key, timeout=window.timeout)
        return hits <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.wait_seconds)


def count_hit(window_key: str, *, timeout: int) -> int:
    """Count one request in the window's counter and return the count, atomically across web workers.

    On Redis this is one round trip (create the counter with its expiry if missing, then increment, in one
    pipeline); Django's ``add`` + ``incr`` would be three (``incr`` checks that the key exists first).
    """
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(window_key)
        # TRICKY: Django's Redis backend has no public way to pipeline; its client object is the one it uses
        # for every other call, and plain integers are stored as such, so the counter stays readable.
        client = backend._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]  # private, not in the stubs
        pipe = client.pipeline(transaction=False)
        pipe.set(full_key, 0, ex=timeout, nx=True)
        pipe.incr(full_key)
        try:
            return int(pipe.execute()[1])
        except CACHE_ERRORS as exc:  # Redis is down: the throttle fails open, as the cache does
            cache_warning.warn("throttle counter unavailable (%r); letting the request through", exc)
            return 1
    # add() is a no-op when the key exists; incr() is atomic across web workers.
    cache.add(window_key, 0, timeout=timeout)
    try:
        return cache.incr(window_key)
    except ValueError:  # expired between add() and incr()
        cache.add(window_key, 1, timeout=timeout)
        return 1
