from __future__ import annotations

from django.contrib import admin

from alignment.models import Goal, KpiSnapshot


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["name", "metric", "target", "period", "scope"]
    list_filter = ["period", "metric"]


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = ["metric", "period", "scope", "value", "computed_at"]
    list_filter = ["period", "metric"]
