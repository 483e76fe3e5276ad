"""Notes on a lead's shared timeline, and the people they mention (``@username``)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from core.models import NotificationKind
from core.notifications import notify
from core.roles import ROLES
from leads.models import Lead, Note

# Django usernames: letters, digits and @ . + - _. A mention starts after a space or punctuation (not inside
# an e-mail address) and drops the full stop that ends a sentence.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]{1,150})")
MENTIONS_MAX = 20
QUOTE_MAX = 160
SUGGESTIONS = 8


def mentioned_usernames(body: str) -> list[str]:
    """The usernames ``@mentioned`` in a note, in order, each once (at most ``MENTIONS_MAX``)."""
    names = (match.rstrip(".-") for match in MENTION.findall(body))
    return list(dict.fromkeys(name for name in names if name))[:MENTIONS_MAX]


def mentionable_users() -> Any:
    """Active users in a team: the people a note can mention."""
    return get_user_model().objects.filter(is_active=True, groups__name__in=ROLES).distinct()


def mentioned_users(body: str) -> list[Any]:
    names = mentioned_usernames(body)
    if not names:
        return []
    match = Q()
    for name in names:
        match |= Q(username__iexact=name)
    return list(mentionable_users().filter(match).only("pk", "username"))


def suggest_mentions(prefix: str) -> list[dict[str, str]]:
    """Active team members whose username or name starts with ``prefix``, for the @ completion."""
    prefix = prefix.strip().lstrip("@")[:150]
    users = mentionable_users()
    if prefix:
        users = users.filter(
            Q(username__istartswith=prefix)
            | Q(first_name__istartswith=prefix)
            | Q(last_name__istartswith=prefix)
        )
    return [
        {"username": u.username, "name": u.get_full_name() or u.username}
        for u in users.order_by("username").only("username", "first_name", "last_name")[:SUGGESTIONS]
    ]


@transaction.atomic
def add_note(*, lead: Lead, author: Any, body: str) -> Note:
    """Write a note on the lead's shared timeline and tell each ``@mentioned`` team member."""
    note = Note.objects.create(lead=lead, author=author, body=body.strip())
    recipients = [user.pk for user in mentioned_users(note.body) if user.pk != getattr(author, "pk", None)]
    if recipients:
        who = author.get_full_name() or author.username
        quote = note.body if len(note.body) <= QUOTE_MAX else note.body[: QUOTE_MAX - 1] + "…"
        notify(
            user_ids=recipients,
            kind=NotificationKind.MENTION,
            message=f"{who} mentioned you on {lead.label}: “{quote}”",
            url=reverse("leads:detail", args=[lead.pk]) + "#notes",
        )
    return note
