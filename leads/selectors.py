"""The one permission-aware way to fetch leads for a user, shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from core.roles import roles_of
from leads.models import Lead


def leads_visible_to(user: Any) -> QuerySet[Lead]:
    """Both teams and their managers see the whole shared pipeline; a user with no role sees nothing."""
    queryset = Lead.objects.select_related("persona", "campaign", "owner")
    if not roles_of(user):
        return queryset.none()
    return queryset


def get_lead_for(user: Any, lead_id: Any) -> Lead:
    """The lead; ``NotFound`` if it does not exist or the user may not see it."""
    try:
        lead_id = int(lead_id)
    except (TypeError, ValueError):
        lead_id = 0
    try:
        return leads_visible_to(user).get(pk=lead_id)
    except Lead.DoesNotExist:
        raise NotFound from None
