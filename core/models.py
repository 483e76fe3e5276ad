from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Scope(models.TextChoices):
    INGEST = "ingest", "Ingest: push leads and activities"
    READ = "read", "Read what its user may see"
    WRITE = "write", "Act on the funnel as its user"


TOKEN_PREFIX = "aln_"  # noqa: S105 - a public marker that makes leaked tokens easy to scan for


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for a REST client. Only the SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate_secret() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class IdempotencyKey(models.Model):
    """The first response to a POST that carried an ``Idempotency-Key``, kept for 24 hours."""

    client = models.CharField(max_length=64, help_text="token:<id> or user:<id>; keys are per client.")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_per_client")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.client} {self.key}"


class AuditEvent(models.Model):
    """Who did what to which object, for the managers' audit trail."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(
        max_length=200, blank=True, help_text="The object's name when the event was written, for the trail."
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class NotificationKind(models.TextChoices):
    HANDOFF_ASSIGNED = "handoff.assigned", "A hand-off was assigned to you"
    SLA_BREACHED = "sla.breached", "A hand-off breached its SLA"
    MENTION = "mention", "You were mentioned in a note"
    LEAD_REJECTED = "lead.rejected", "Sales rejected a lead"


class Notification(models.Model):
    """An in-app message to one user (a hand-off, an SLA breach, a mention, a rejected lead)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user"], condition=Q(read_at=None), name="notification_unread_idx"),
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_recent_idx"),
            models.Index(
                fields=["created_at"], condition=Q(emailed_at=None), name="notification_unmailed_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.message


class EmailPreference(models.TextChoices):
    OFF = "off", "Off: only in the app"
    IMMEDIATE = "immediate", "Immediately, one e-mail per batch of alerts"
    DAILY = "daily", "A daily digest"


class NotificationPreference(models.Model):
    """How one user wants alerts by e-mail. No row means the default (``DEFAULT_EMAIL``)."""

    DEFAULT_EMAIL = EmailPreference.IMMEDIATE

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_pref"
    )
    email = models.CharField(max_length=10, choices=EmailPreference.choices, default=DEFAULT_EMAIL)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email}"


class WebhookEventType(models.TextChoices):
    LEAD_CREATED = "lead.created", "A lead was created"
    LEAD_QUALIFIED = "lead.qualified", "A lead became an MQL"
    HANDOFF_ASSIGNED = "handoff.assigned", "A hand-off was assigned to a rep"
    HANDOFF_ACCEPTED = "handoff.accepted", "A hand-off was accepted"
    HANDOFF_REJECTED = "handoff.rejected", "A hand-off was rejected"
    LEAD_STAGE_CHANGED = "lead.stage_changed", "A lead moved to another stage"
    SLA_BREACHED = "sla.breached", "A hand-off breached its SLA"


class WebhookEndpoint(models.Model):
    """A receiving system that managers registered, with the events it wants."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="WebhookEventType values.")
    active = models.BooleanField(default=True)
    # TRICKY: stored as is, not hashed: signing needs the raw secret on every delivery (as GitHub and Stripe
    # do). It is shown once, on creation, and never again in a page or an answer.
    secret = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    @staticmethod
    def generate_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)


class WebhookEvent(models.Model):
    """The outbox: one row per event, written in the transaction of the change that caused it."""

    uid = models.UUIDField(unique=True, help_text="The event id receivers see (to drop repeats).")
    event = models.CharField(max_length=40, choices=WebhookEventType.choices)
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.uid}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    IN_PROGRESS = "in_progress", "Sending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint. The row is the truth: a Celery message only triggers a look at it, and
    the sweep finds rows whose message was lost or whose worker died (``in_progress`` with an old claim)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField(help_text="After this, a failed attempt marks the delivery failed.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "in_progress"]),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the answer code (none when no answer came) and what went wrong."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["delivery", "-at"], name="webhook_attempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code}"
