"""Sending one webhook: the signature, the address check against SSRF, and the POST itself.

The signature is ``Alignment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` (API.md).
Addresses on loopback, private, link-local, reserved or multicast networks are refused unless
``WEBHOOK_ALLOW_PRIVATE`` is on: when an endpoint is registered, and again when each POST connects, to the
very address that was checked (DNS may answer differently between the two).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

SIGNATURE_HEADER = "Alignment-Signature"
TIMEOUT_SECONDS = 10.0
# The most of a receiver's answer that is read: the code is what counts.
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "alignment-webhooks/1"


class RefusedAddress(ValueError):
    """The URL is not one we may send to."""


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _address_refusal(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "a reserved address"
    return None


def split_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path with query)`` of an http(s) URL, or ``RefusedAddress``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedAddress(f"Not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedAddress("Use an http or https URL with a host name.")
    if parts.username or parts.password:
        raise RefusedAddress("Leave user name and password out of the URL.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve_allowed(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    """The addresses of ``host`` as ``(family, address)``, or ``RefusedAddress`` if any of them is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise RefusedAddress(f"The host {host} cannot be resolved ({exc}).") from None
    found = [(family, str(sockaddr[0])) for family, _, _, _, sockaddr in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for _, address in found:
            refusal = _address_refusal(address)
            if refusal:
                raise RefusedAddress(f"{host} resolves to {refusal} ({address}); webhooks may not go there.")
    return found


def check_url(url: str) -> None:
    """Refuse a URL we may not send to (``RefusedAddress`` with the reason)."""
    _, host, port, _ = split_url(url)
    resolve_allowed(host, port)


def _checked_connection(host: str, port: int) -> Callable[..., socket.socket]:
    """A ``create_connection`` for http.client that connects only to an address it has just checked."""

    def create_connection(
        address: tuple[str, int],
        timeout: float = TIMEOUT_SECONDS,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        family, ip = resolve_allowed(host, port)[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((ip, port))
        except OSError:
            sock.close()
            raise
        return sock

    return create_connection


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, body: bytes, secret: str, timestamp: int | None = None) -> Answer:
    """POST a signed JSON body; never raises: a refused address, a timeout or a reset is an ``Answer``."""
    started = time.monotonic()

    def answer(code: int | None, error: str = "") -> Answer:
        return Answer(
            status_code=code, error=error[:300], duration_ms=int((time.monotonic() - started) * 1000)
        )

    try:
        scheme, host, port, path = split_url(url)
    except RefusedAddress as exc:
        return answer(None, str(exc))
    timestamp = int(time.time()) if timestamp is None else timestamp
    connection_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connection = connection_class(host, port, timeout=TIMEOUT_SECONDS)
    connection._create_connection = _checked_connection(host, port)  # type: ignore[attr-defined]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body),
    }
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)
        return answer(response.status)
    except RefusedAddress as exc:
        return answer(None, str(exc))
    except (OSError, http.client.HTTPException) as exc:
        return answer(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        connection.close()
