"""The one permission-aware way to fetch leads for a user, shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import Forbidden, NotFound
from core.roles import MANAGERS, MARKETING, has_role, is_sales, roles_of
from leads.models import Lead


def leads_visible_to(user: Any) -> QuerySet[Lead]:
    """Both teams and their managers see the whole shared pipeline; a user with no role sees nothing."""
    queryset = Lead.objects.select_related("persona", "campaign", "owner")
    if not roles_of(user):
        return queryset.none()
    return queryset


def can_edit_lead(user: Any, lead: Lead) -> bool:
    """Who may change a lead's fields: marketing and managers any lead, a sales rep the leads it owns."""
    if has_role(user, MARKETING, MANAGERS):
        return True
    return is_sales(user) and lead.owner_id is not None and lead.owner_id == user.pk


def get_lead_for(user: Any, lead_id: Any, *, write: bool = False) -> Lead:
    """The lead; ``NotFound`` if it does not exist or the user may not see it.

    With ``write``, ``Forbidden`` when the user sees the lead but may not change its fields.
    """
    try:
        lead_id = int(lead_id)
    except (TypeError, ValueError):
        lead_id = 0
    try:
        lead = leads_visible_to(user).get(pk=lead_id)
    except Lead.DoesNotExist:
        raise NotFound from None
    if write and not can_edit_lead(user, lead):
        raise Forbidden("Only marketing, managers and the lead's owner may change its fields.")
    return lead
