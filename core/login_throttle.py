"""Failed logins are throttled per account and per address, so that a password cannot be guessed.

Counters live in the cache (Redis when configured, shared by every web worker) for ``WINDOW_SECONDS`` from
the first failure. An account is locked after ``MAX_PER_ACCOUNT`` failures in the window, an address after
``MAX_PER_ADDRESS`` (higher: an office shares one address). While locked, even the right password is
refused. A successful login clears the account's counter. If the cache is down, logins are not throttled:
failing open keeps people able to sign in, and passwords are still checked.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache import cache

WINDOW_SECONDS = 15 * 60
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 30
LOCKED_MESSAGE = "Too many failed logins. Please wait 15 minutes and try again."

logger = logging.getLogger(__name__)


def _account_key(username: str) -> str:
    # Hashed: the username is whatever was typed, of any length and character.
    digest = hashlib.sha256(username.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"login-failures:account:{digest}"


def _address_key(address: str) -> str:
    return f"login-failures:address:{address}"


def client_address(request: Any) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def is_locked(*, username: str, address: str) -> bool:
    """Whether logins for this account or from this address are refused for now."""
    try:
        counts = cache.get_many([_account_key(username), _address_key(address)])
    except Exception:  # the cache is down: fail open
        logger.warning("login throttle: cache unavailable", exc_info=True)
        return False
    return (
        counts.get(_account_key(username), 0) >= MAX_PER_ACCOUNT
        or counts.get(_address_key(address), 0) >= MAX_PER_ADDRESS
    )


def record_failure(*, username: str, address: str) -> None:
    for key in (_account_key(username), _address_key(address)):
        try:
            # add() starts the window on the first failure; incr() keeps its expiry.
            if not cache.add(key, 1, WINDOW_SECONDS):
                cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS)
        except Exception:
            logger.warning("login throttle: cache unavailable", exc_info=True)
            return


def record_success(*, username: str) -> None:
    try:
        cache.delete(_account_key(username))
    except Exception:
        logger.warning("login throttle: cache unavailable", exc_info=True)
