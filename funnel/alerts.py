"""Who is told what about hand-offs: the rep when one arrives, marketing when sales rejects a lead.

(SLA breaches are told in ``sla.py``, where they are found.) Every function is set-based and writes through
``core.notifications``; call them inside the use-case's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from core.models import NotificationKind
from core.notifications import Alert, notified, notify, notify_each
from core.roles import MARKETING
from funnel import alerts_sql
from leads.models import Campaign, Lead

HANDOFF_MESSAGE = "New hand-off: {label} is waiting for your decision."
# Preceded by the number of hand-offs (two or more) one promotion batch gave the rep.
HANDOFFS_MESSAGE = " new hand-offs are waiting for your decision."
# A lead id no real lead has, to cut the lead page's address into what comes before and after the id.
_ID_MARK = 987654321


@dataclass(frozen=True)
class Arrival:
    """A hand-off that reached a rep: the lead's id and label, and the rep."""

    lead_id: int
    label: str
    rep_id: int | None


def handoffs_arrived(*, arrivals: Sequence[Arrival], now: datetime | None = None) -> int:
    """Tell each rep about each hand-off that reached them: one insert for the whole set."""
    alerts = [
        Alert(
            user_id=a.rep_id,
            message=HANDOFF_MESSAGE.format(label=a.label),
            url=reverse("leads:detail", args=[a.lead_id]),
        )
        for a in arrivals
        if a.rep_id is not None
    ]
    return notify_each(kind=NotificationKind.HANDOFF_ASSIGNED, alerts=alerts, now=now)


def handoffs_opened(*, lead_ids: Sequence[int], now: datetime) -> int:
    """Tell each rep about the hand-offs a promotion batch gave them: one notification per rep.

    A rep given one lead reads ``HANDOFF_MESSAGE`` about it, as ``handoffs_arrived`` writes it; a rep given
    several reads how many are waiting, linking to the queue (a rotation of thousands of leads is one alert
    and one e-mail per rep, not thousands). One INSERT … SELECT without reading the leads into Python, one
    cache call for the unread counts, one e-mail task per rep. Call inside the transaction that set the
    owners. Returns the notifications written.
    """
    before, after = HANDOFF_MESSAGE.split("{label}")
    url_before, url_after = reverse("leads:detail", args=[_ID_MARK]).split(str(_ID_MARK))
    written = alerts_sql.insert_owner_notifications(
        lead_ids=lead_ids,
        kind=NotificationKind.HANDOFF_ASSIGNED,
        one=(before, after),
        many=HANDOFFS_MESSAGE,
        url=(url_before, url_after),
        many_url=reverse("funnel:queue"),
        at=now,
    )
    notified(written=written)
    return len(written)


def handoff_arrived(*, lead: Lead, rep_id: int | None, now: datetime | None = None) -> int:
    return handoffs_arrived(arrivals=[Arrival(lead_id=lead.pk, label=lead.label, rep_id=rep_id)], now=now)


def marketers_for(lead: Lead) -> list[int]:
    """The marketer who owns the lead's campaign, or every active marketer when nobody does."""
    if lead.campaign_id is not None:
        owner = (
            Campaign.objects.filter(pk=lead.campaign_id, owner__is_active=True)
            .values_list("owner_id", flat=True)
            .first()
        )
        if owner is not None:
            return [owner]
    users = get_user_model().objects.filter(is_active=True, groups__name=MARKETING).distinct()
    return list(users.values_list("pk", flat=True))


def lead_rejected(*, lead: Lead, actor: Any, reason_label: str, note: str = "") -> int:
    who = actor.get_full_name() or actor.username
    message = f"{who} rejected {lead.label}: {reason_label}." + (f" “{note}”" if note else "")
    return notify(
        user_ids=marketers_for(lead),
        kind=NotificationKind.LEAD_REJECTED,
        message=message,
        url=reverse("leads:detail", args=[lead.pk]),
    )
