"""Scoring's tables: the versioned scoring model, each lead's score history, and full-run progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models import Grade, Lead


class ScoringModelStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    REJECTED = "rejected", "Rejected"


class ScoringModel(models.Model):
    """One version of the jointly owned definition of a qualified lead.

    A draft becomes active once approved by a marketer and by a sales rep or manager (two different
    people; the proposer's proposal is their own team's approval); activating it retires the previous active
    version. A draft may instead be rejected, with a comment. Rules are stored with the version, so a
    version never changes after activation.

    The ``impact_*`` fields estimate what activating the draft would change, against the leads' scores at
    ``impact_computed_at`` (empty: not computed yet; ``scoring.impact`` computes them in a task).
    """

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=10, choices=ScoringModelStatus.choices, default=ScoringModelStatus.DRAFT
    )
    mql_threshold = models.PositiveIntegerField(default=60)
    min_grade = models.CharField(max_length=1, choices=Grade.choices, default=Grade.B)
    engagement_half_life_days = models.FloatField(default=30.0)
    # [{"field", "operator", "value", "points", "label"}]
    fit_rules = models.JSONField(default=list)
    # [{"activity_type", "points", "max_per_30_days"}]
    engagement_rules = models.JSONField(default=list)
    # {"A": min fit, "B": min fit, "C": min fit}; below C is D
    grade_bands = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_marketing = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_sales = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_approved_at = models.DateTimeField(null=True, blank=True)
    sales_approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_comment = models.CharField(max_length=1000, blank=True)
    # The version that was active when the impact was computed (null: none was).
    impact_based_on = models.PositiveIntegerField(null=True, blank=True)
    impact_leads = models.PositiveIntegerField(null=True, blank=True, help_text="Leads looked at.")
    impact_grade_changes = models.PositiveIntegerField(null=True, blank=True)
    impact_mql_up = models.PositiveIntegerField(
        null=True, blank=True, help_text="Leads below the MQL bar now that would meet the draft's."
    )
    impact_mql_down = models.PositiveIntegerField(
        null=True, blank=True, help_text="Leads meeting the MQL bar now that would fall below the draft's."
    )
    impact_computed_at = models.DateTimeField(null=True, blank=True)
    # When the count was last queued: a sweep queues it again if it is still missing long after.
    impact_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_scoring_model"
            ),
            models.CheckConstraint(condition=Q(engagement_half_life_days__gt=0), name="half_life_positive"),
        ]

    def __str__(self) -> str:
        return f"Scoring model v{self.version} ({self.status})"


class ScoreChange(models.Model):
    """History of a lead's score: one row each time a scoring run gives it a new score or grade."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_changes")
    at = models.DateTimeField()
    model_version = models.PositiveIntegerField()
    score = models.IntegerField()
    grade = models.CharField(max_length=1, choices=Grade.choices)
    previous_score = models.IntegerField(null=True, blank=True, help_text="Empty: the lead's first score.")
    previous_grade = models.CharField(max_length=1, blank=True)
    reason = models.CharField(max_length=20, help_text="incremental, sweep or full")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="score_change_lead_time_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.previous_score} → {self.score} ({self.reason})"


class ScoringRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ScoringRun(models.Model):
    """A full rescore of every lead, with its progress (rows done / total) for the scoring page."""

    model_version = models.PositiveIntegerField()
    reason = models.CharField(max_length=40)
    status = models.CharField(
        max_length=10, choices=ScoringRunStatus.choices, default=ScoringRunStatus.RUNNING
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Full rescore v{self.model_version}: {self.done}/{self.total} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))
