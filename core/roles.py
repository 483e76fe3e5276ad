"""Teams are Django groups; a user's role decides what it may do."""

from __future__ import annotations

from typing import Any

MARKETING = "marketing"
SALES = "sales"
MANAGERS = "managers"
ROLES = (MARKETING, SALES, MANAGERS)


def roles_of(user: Any) -> frozenset[str]:
    """The role names of a user, read once per request object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_alignment_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._alignment_roles = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_manager(user: Any) -> bool:
    return has_role(user, MANAGERS)


def is_marketer(user: Any) -> bool:
    return has_role(user, MARKETING)


def is_sales(user: Any) -> bool:
    return has_role(user, SALES)
