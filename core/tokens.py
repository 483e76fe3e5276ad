"""Creating, checking and revoking API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from core.audit import record
from core.cache import get_and_count
from core.models import TOKEN_PREFIX, ApiToken, Scope, hash_token
from core.roles import roles_of

TOKEN_CACHE_SECONDS = 30


class InvalidScopes(ValueError):
    pass


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def parse_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = [s.strip() for s in scopes if s and s.strip()]
    unknown = sorted(set(chosen) - set(Scope.values))
    if unknown:
        raise InvalidScopes(f"unknown scopes: {', '.join(unknown)} (known: {', '.join(Scope.values)})")
    if not chosen:
        raise InvalidScopes("a token needs at least one scope")
    return [s for s in Scope.values if s in chosen]


def issue_token(*, user: Any, name: str, scopes: Iterable[str]) -> IssuedToken:
    """Create a token; the secret is returned once and stored only as a hash."""
    secret = ApiToken.generate_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "API token",
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        key_hash=hash_token(secret),
        scopes=parse_scopes(scopes),
    )
    record(actor=user, action="token.created", obj=token, data={"scopes": token.scopes})
    return IssuedToken(token=token, secret=secret)


def _cache_key(key_hash: str) -> str:
    return f"api-token:{key_hash}"


def find_active_token(secret: str) -> ApiToken | None:
    """The active token for a secret, with its user and the user's roles.

    A client sends its token with every request, so the token, user and roles are cached (in Redis when
    configured, shared by all web workers) for ``TOKEN_CACHE_SECONDS``; revoking a token or saving its user
    (deactivation) drops it from the cache at once (``core.receivers``), while a change of the user's groups
    takes effect within that time.
    """
    key_hash = hash_token(secret)
    return _active_token(key_hash, cache.get(_cache_key(key_hash)))


def find_active_token_counting(secret: str, *, counter: str, timeout: int) -> tuple[ApiToken | None, int]:
    """``find_active_token``, and one more hit in the rate counter ``counter`` (``core.throttling``): with the
    token cached, both in one round trip to the cache."""
    key_hash = hash_token(secret)
    cached, hits = get_and_count(_cache_key(key_hash), counter, timeout=timeout)
    return _active_token(key_hash, cached), hits


def _active_token(key_hash: str, cached: Any) -> ApiToken | None:
    if cached is not None:
        token, roles = cached
        token.user._alignment_roles = roles
    else:
        token = ApiToken.objects.select_related("user").filter(key_hash=key_hash, revoked_at=None).first()
        if token is None or not token.user.is_active:
            return None
        roles = roles_of(token.user)
    now = timezone.now()
    # Write last_used_at at most once a minute so a busy client does not turn every request into a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        cached = None
    if cached is None:
        cache.set(_cache_key(key_hash), (token, roles), TOKEN_CACHE_SECONDS)
    return token


def revoke_token(*, token: ApiToken, actor: Any = None) -> None:
    """Revoke a token at once (its cached copy too); the first revocation is recorded in the audit trail."""
    if ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now()):
        record(actor=actor or token.user, action="token.revoked", obj=token, data={"owner": token.user_id})
    cache.delete(_cache_key(token.key_hash))


def forget_cached_tokens(*, user_id: int) -> None:
    """Drop a user's tokens from the cache, so that a change to the user (deactivation above all) applies
    to the very next request rather than after ``TOKEN_CACHE_SECONDS``."""
    hashes = ApiToken.objects.filter(user_id=user_id).values_list("key_hash", flat=True)
    cache.delete_many([_cache_key(key_hash) for key_hash in hashes])
