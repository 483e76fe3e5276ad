from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models import Lead, RejectReason


class HandoffStatus(models.TextChoices):
    OPEN = "open", "Waiting"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    REASSIGNED = "reassigned", "Reassigned"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Handoff(models.Model):
    """An MQL handed to a sales rep (or to the unassigned queue) with a follow-up deadline."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="handoffs")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="handoffs"
    )
    assigned_at = models.DateTimeField()
    sla_due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=HandoffStatus.choices, default=HandoffStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    breached_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)
    reject_reason = models.ForeignKey(
        RejectReason, null=True, blank=True, on_delete=models.PROTECT, related_name="handoffs"
    )
    note = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["sla_due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(status="open"), name="handoff_one_open_per_lead"
            ),
        ]
        indexes = [
            models.Index(fields=["rep", "sla_due_at"], condition=Q(status="open"), name="handoff_open_idx"),
            models.Index(fields=["sla_due_at"], name="handoff_due_idx"),
            # The queue's pages: open hand-offs by deadline, id as the keyset tie-breaker.
            models.Index(
                fields=["sla_due_at", "id"], condition=Q(status="open"), name="handoff_open_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.rep_id} due {self.sla_due_at:%Y-%m-%d %H:%M}"


class RepProfile(models.Model):
    """How routing treats one sales rep: active or not, a capacity and an optional territory.

    A rep with no countries and no markets takes leads from anywhere. ``rotation`` is the routing sequence
    number of the rep's latest assignment: the eligible rep with the lowest number is next (round-robin).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep_profile"
    )
    active = models.BooleanField(default=True, help_text="Inactive reps get no new hand-offs.")
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="The most open hand-offs at a time; empty means no limit."
    )
    countries = models.JSONField(default=list, blank=True, help_text="ISO 3166-1 alpha-2 codes.")
    markets = models.ManyToManyField("leads.Market", blank=True, related_name="+")
    rotation = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"Routing for {self.user}"


class RoutingState(models.Model):
    """A singleton row: locking it serialises routing, its counter orders the rotation."""

    counter = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Routing counter {self.counter}"


class FunnelSettings(models.Model):
    """Organisation-wide funnel settings (a singleton, edited in the admin)."""

    escalate_breaches = models.BooleanField(
        default=False, help_text="Reassign a breached hand-off to the next rep, with a fresh SLA clock."
    )
    default_sla_hours = models.PositiveIntegerField(
        default=24, help_text="The follow-up deadline when the MQL stage has no SLA hours of its own."
    )
    business_hours_only = models.BooleanField(
        default=False,
        help_text="Count SLA hours only on weekdays between the start and end hour (TIME_ZONE).",
    )
    business_day_start = models.PositiveSmallIntegerField(default=9, help_text="Hour of day, 0 to 23.")
    business_day_end = models.PositiveSmallIntegerField(default=17, help_text="Hour of day, 1 to 24.")

    class Meta:
        verbose_name = "funnel settings"
        verbose_name_plural = "funnel settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(business_day_start__lt=models.F("business_day_end"), business_day_end__lte=24),
                name="funnel_business_day_ok",
            ),
        ]

    def __str__(self) -> str:
        return "Funnel settings"

    @classmethod
    def load(cls) -> FunnelSettings:
        return cls.objects.get_or_create(pk=1)[0]
