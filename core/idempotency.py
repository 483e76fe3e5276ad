"""``Idempotency-Key`` for POST requests, kept in the database so it holds across web workers.

Within 24 hours a repeat with the same key and the same body gets the first status and body back and changes
nothing; the same key with another body is ``422``; a key whose first request is still running is ``409``.
Keys are per client (token, or user for browser sessions). A first request that ends in a server error
releases its key, so the client can retry.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone

from core.errors import Conflict, Unprocessable, ValidationProblem
from core.models import ApiToken, IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Claim:
    pk: int


class Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def client_of(request: Any) -> str:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def claim_key(*, client: str, key: str, fingerprint: str) -> Claim:
    """Take the key for this request, or raise what the client must be told instead.

    Runs in its own committed transaction so that concurrent requests with the same key see the claim.
    """
    if not VALID_KEY.match(key):
        raise ValidationProblem({HEADER: ["Must be 1 to 255 visible ASCII characters."]})
    now = timezone.now()
    ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    stale = timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS)
    for _ in range(3):
        try:
            with transaction.atomic():
                IdempotencyKey.objects.filter(client=client, key=key, created_at__lt=now - ttl).delete()
                row, created = IdempotencyKey.objects.get_or_create(
                    client=client, key=key, defaults={"request_hash": fingerprint, "created_at": now}
                )
        except IntegrityError:
            continue
        if created:
            return Claim(pk=row.pk)
        if row.request_hash != fingerprint:
            raise Unprocessable("This Idempotency-Key was already used with a different request body.")
        if row.completed_at is not None:
            response = HttpResponse(
                bytes(row.response_body or b""),
                status=row.response_status,
                content_type=row.response_content_type or "application/json",
            )
            response["Idempotent-Replayed"] = "true"
            raise Replay(response)
        # TRICKY: a worker killed mid-request never completes its key; after a while a retry may take it
        # over, claimed with a conditional UPDATE so that only one retry wins.
        if row.created_at < now - stale and IdempotencyKey.objects.filter(
            pk=row.pk, completed_at=None, created_at=row.created_at
        ).update(created_at=now):
            return Claim(pk=row.pk)
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later.")
    raise Conflict("A request with this Idempotency-Key is still being processed; retry later.")


def complete_key(*, claim: Claim, response: HttpResponse) -> None:
    IdempotencyKey.objects.filter(pk=claim.pk).update(
        completed_at=timezone.now(),
        response_status=response.status_code,
        response_body=bytes(response.content),
        response_content_type=response.get("Content-Type", ""),
    )


def release_key(*, claim: Claim) -> None:
    IdempotencyKey.objects.filter(pk=claim.pk, completed_at=None).delete()


def purge_expired_keys() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _settle(action: Callable[[], None], what: str) -> None:
    """Complete or release a key even when the request's database connection just broke.

    TRICKY: when the connection dies after the request's own transaction committed, failing here would turn
    a stored batch into a ``500``. One retry on a fresh connection; if that fails too, the key stays in
    flight until ``IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS`` and a retry then takes it over.
    """
    try:
        action()
        return
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        connection.close()
    try:
        action()
    except DatabaseError:
        logger.warning("could not %s an Idempotency-Key; it stays in flight for a while", what, exc_info=True)


class IdempotentPostMixin:
    """Mix into any DRF view whose POSTs must honour ``Idempotency-Key``."""

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        self._idempotency_claim: Claim | None = None
        # Read the raw body before the parsers do: Django caches it, so parsing still works afterwards.
        body = request._request.body if request.method == "POST" else b""
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = request.headers.get(HEADER)
        if request.method == "POST" and key is not None:
            self._idempotency_claim = claim_key(
                client=client_of(request),
                key=key,
                fingerprint=request_fingerprint(request.method, request.path, body),
            )

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, Replay):
            return exc.response
        try:
            return super().handle_exception(exc)  # type: ignore[misc]
        except BaseException:
            claim = getattr(self, "_idempotency_claim", None)
            if claim is not None:
                _settle(lambda: release_key(claim=claim), "release")
            raise

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        claim = getattr(self, "_idempotency_claim", None)
        if claim is not None:
            if response.status_code >= 500:
                _settle(lambda: release_key(claim=claim), "release")
            else:
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
                _settle(lambda: complete_key(claim=claim, response=response), "complete")
        return response
