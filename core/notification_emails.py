"""Notifications by e-mail, as each user prefers: never, at once (one e-mail per batch), or a daily digest.

Each notification is e-mailed at most once: rows are claimed ``FOR UPDATE SKIP LOCKED`` and stamped
``emailed_at`` in the transaction that sends them, so two workers never mail the same alert and a failed
send leaves them for the next try.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import EmailPreference, Notification, NotificationPreference

DIGEST_WINDOW = timedelta(days=7)  # older unsent alerts are stale news; the app still shows them


def email_preference(user: Any) -> str:
    pref = NotificationPreference.objects.filter(user=user).values_list("email", flat=True).first()
    return pref or NotificationPreference.DEFAULT_EMAIL


def set_email_preference(*, user: Any, email: str) -> None:
    NotificationPreference.objects.update_or_create(user=user, defaults={"email": email})


def _wanting(choice: str) -> Q:
    """Notifications whose user wants e-mail this way (no preference row: the default)."""
    chosen = Q(user__notification_pref__email=choice)
    if choice == NotificationPreference.DEFAULT_EMAIL:
        chosen |= Q(user__notification_pref=None)
    return chosen & Q(user__is_active=True) & ~Q(user__email="")


def email_notifications(*, notification_ids: Sequence[int]) -> int:
    """Send the given notifications now to the users who want e-mail at once; returns e-mails sent."""
    pending = Notification.objects.filter(pk__in=list(notification_ids), emailed_at=None).filter(
        _wanting(EmailPreference.IMMEDIATE)
    )
    return _send(pending, subject_one="{message}", subject_many="{count} new alerts")


def send_daily_digests(*, now: datetime | None = None) -> int:
    """One e-mail per user who chose the daily digest, with every alert not yet mailed; returns e-mails."""
    now = now or timezone.now()
    pending = Notification.objects.filter(
        emailed_at=None, created_at__lte=now, created_at__gt=now - DIGEST_WINDOW
    ).filter(_wanting(EmailPreference.DAILY))
    return _send(
        pending, subject_one="Your alerts today: {message}", subject_many="Your alerts today: {count}"
    )


def _send(pending: QuerySet[Notification], *, subject_one: str, subject_many: str) -> int:
    with transaction.atomic():
        rows = list(
            pending.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .order_by("user_id", "created_at", "pk")
        )
        if not rows:
            return 0
        Notification.objects.filter(pk__in=[r.pk for r in rows], emailed_at=None).update(
            emailed_at=timezone.now()
        )
        by_user: dict[int, list[Notification]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        messages = []
        for items in by_user.values():
            user = items[0].user
            subject = (
                subject_one.format(message=items[0].message)
                if len(items) == 1
                else subject_many.format(count=len(items))
            )
            body = "\n\n".join(f"{n.message}\n{n.url}".strip() for n in items)
            body += "\n\nChange how you get these on the Alerts page: /notifications/\n"
            messages.append((subject[:150], body, settings.DEFAULT_FROM_EMAIL, [user.email]))
        return send_mass_mail(messages, fail_silently=False)
