from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from core.notifications import unread_count
from core.roles import MANAGERS, MARKETING, ROLES, SALES, roles_of

# (url name, label, roles that see it). A page appears in the navigation once its URL exists.
NAVIGATION = [
    ("dashboard", "Dashboard", ROLES),
    ("leads:list", "Leads", ROLES),
    ("funnel:queue", "Queue", (SALES, MANAGERS)),
    ("funnel:pipeline", "Pipeline", ROLES),
    ("funnel:feedback", "Feedback", (MARKETING, MANAGERS)),
    ("scoring:model", "Scoring", ROLES),
    ("goals", "Goals", ROLES),
    ("imports:start", "Import", (MARKETING, MANAGERS)),
    ("webforms:list", "Forms", (MARKETING, MANAGERS)),
    ("core:audit", "Audit", (MANAGERS,)),
    ("core:webhooks", "Webhooks", (MANAGERS,)),
    ("leads:duplicates", "Duplicates", (MANAGERS,)),
    ("core:notifications", "Alerts", ROLES),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": [], "user_roles": frozenset()}
    roles = roles_of(user)
    items = []
    for name, label, allowed in NAVIGATION:
        if not roles & set(allowed):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "url": url,
                "label": label,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
                "name": name,
            }
        )
    # A callable, so only pages that show the navigation pay for it: from the cache (warmed at login and
    # kept in step by notify and mark read), else one COUNT on the unread index.
    return {"navigation": items, "user_roles": roles, "unread_alerts": lambda: unread_count(user.pk)}
