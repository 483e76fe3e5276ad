from __future__ import annotations

from django.db import models


class KpiSnapshot(models.Model):
    """A KPI's value for one period and scope, as last computed. Upserted on (metric, period, scope)."""

    metric = models.CharField(max_length=60)
    period = models.CharField(max_length=7, help_text="YYYY-MM or YYYY-Qn")
    scope = models.CharField(
        max_length=80, default="all", help_text="all, campaign:<slug>, persona:<slug>, rep:<id>"
    )
    value = models.JSONField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric", "period", "scope"], name="kpi_snapshot_unique"),
        ]
        indexes = [models.Index(fields=["period", "scope"], name="kpi_period_scope_idx")]

    def __str__(self) -> str:
        return f"{self.metric} {self.period} {self.scope} = {self.value}"


class Goal(models.Model):
    """A joint target on a KPI for a period, owned by both teams."""

    name = models.CharField(max_length=120)
    metric = models.CharField(max_length=60)
    target = models.DecimalField(max_digits=16, decimal_places=4)
    period = models.CharField(max_length=7)
    scope = models.CharField(max_length=80, default="all")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.period})"
