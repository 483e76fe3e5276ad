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
from core.notifications import Alert, notify, notify_each
from core.roles import MARKETING
from leads.models import Campaign, Lead

HANDOFF_MESSAGE = "New hand-off: {label} is waiting for your decision."
# When several arrived at once (a promotion batch).
HANDOFFS_MESSAGE = "{count} new hand-offs are waiting for your decision."
# What ``Lead.label`` reads.
LABEL_FIELDS = ("first_name", "last_name", "company", "email")


@dataclass(frozen=True)
class Arrival:
    """A hand-off that reached a rep: the lead's id and label, and the rep."""

    lead_id: int
    label: str
    rep_id: int | None


def handoffs_arrived(*, arrivals: Sequence[Arrival], now: datetime | None = None) -> int:
    """Tell each rep about the hand-offs that reached them, one notification per rep: the lead by name when
    one arrived, how many (linking to the queue) when several, so that a promotion of thousands of leads is
    one alert and one e-mail per rep, not thousands. One insert for the whole set."""
    per_rep = _per_rep([(a.lead_id, a.rep_id) for a in arrivals])
    return _tell_reps(per_rep=per_rep, labels={a.lead_id: a.label for a in arrivals}, now=now)


def handoffs_opened(*, assigned: Sequence[tuple[int, int | None]], now: datetime) -> int:
    """``handoffs_arrived`` for a promotion batch of ``(lead id, rep id)`` pairs: only the leads a rep was
    the only one given are read, for their names (one query). Call inside the transaction that set the owners.
    """
    per_rep = _per_rep(assigned)
    alone = [lead_ids[0] for lead_ids in per_rep.values() if len(lead_ids) == 1]
    labels = {lead.pk: lead.label for lead in Lead.objects.filter(pk__in=alone).only(*LABEL_FIELDS)}
    return _tell_reps(per_rep=per_rep, labels=labels, now=now)


def _per_rep(assigned: Sequence[tuple[int, int | None]]) -> dict[int, list[int]]:
    """The leads each rep was given (leads given to nobody are left out)."""
    per_rep: dict[int, list[int]] = {}
    for lead_id, rep_id in assigned:
        if rep_id is not None:
            per_rep.setdefault(rep_id, []).append(lead_id)
    return per_rep


def _tell_reps(*, per_rep: dict[int, list[int]], labels: dict[int, str], now: datetime | None) -> int:
    alerts = [
        Alert(
            user_id=rep_id,
            message=HANDOFF_MESSAGE.format(label=labels.get(lead_ids[0], "")),
            url=reverse("leads:detail", args=[lead_ids[0]]),
        )
        if len(lead_ids) == 1
        else Alert(
            user_id=rep_id, message=HANDOFFS_MESSAGE.format(count=len(lead_ids)), url=reverse("funnel:queue")
        )
        for rep_id, lead_ids in sorted(per_rep.items())
    ]
    return notify_each(kind=NotificationKind.HANDOFF_ASSIGNED, alerts=alerts, now=now)


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
