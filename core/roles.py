"""Teams are Django groups; a user's role decides what it may do. Also how a user is named on pages."""

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


def shown_name(*, first_name: str, last_name: str, username: str) -> str:
    """A user's name as ``User.get_full_name() or User.username`` gives it, from the columns alone: for pages
    that read users as values, not instances."""
    return f"{first_name} {last_name}".strip() or username
