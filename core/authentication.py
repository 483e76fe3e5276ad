from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from core.models import hash_token
from core.throttling import COUNTED_ATTRIBUTE, ClientRateThrottle
from core.tokens import find_active_token, find_active_token_counting


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; ``request.auth`` is the ApiToken, whose scopes narrow the user."""

    keyword = b"bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        window = ClientRateThrottle.token_window(hash_token(secret))
        if window is None:
            token = find_active_token(secret)
        else:
            token, hits = find_active_token_counting(secret, counter=window.key, timeout=window.timeout)
            # The throttle reads the hit counted here instead of counting it again.
            setattr(request, COUNTED_ATTRIBUTE, (window.key, hits))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser session (with CSRF). Unauthenticated requests still get 401, not 403."""

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
