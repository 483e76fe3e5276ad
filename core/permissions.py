"""Who may call an API view: a role (Django group) and, for token clients, a scope."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.models import ApiToken, Scope
from core.roles import ROLES, roles_of


def _action_of(request: Any, view: Any) -> str:
    return getattr(view, "action", None) or request.method.lower()


class TokenScope(BasePermission):
    """A token acts as its user, narrowed by its scopes.

    A view names the scope each action needs in ``required_scopes`` (keyed by viewset action or by
    lower-case method); otherwise reads need ``read`` and every other method ``write``.
    """

    message = "This token's scopes do not allow this request."

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        required = getattr(view, "required_scopes", {}).get(_action_of(request, view))
        if required is None:
            required = Scope.READ if request.method in SAFE_METHODS else Scope.WRITE
        return required in token.scopes


class HasRole(BasePermission):
    """The user belongs to one of the roles the view allows for this action (any role by default)."""

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        allowed = getattr(view, "allowed_roles", {}).get(_action_of(request, view), ROLES)
        return bool(roles_of(request.user) & set(allowed))


API_PERMISSIONS = [TokenScope, HasRole]


def may_read(request: Any) -> bool:
    """Whether the client may read what its user sees: a session, or a token with the ``read`` scope."""
    token = request.auth
    return not isinstance(token, ApiToken) or Scope.READ in token.scopes
