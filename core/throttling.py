from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from core.models import ApiToken


class ClientRateThrottle(SimpleRateThrottle):
    """One budget per token (or per user for browser sessions, per address for anonymous requests)."""

    scope = "client"

    def get_cache_key(self, request: Any, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
