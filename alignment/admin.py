from __future__ import annotations

from typing import Any

from django.contrib import admin

from alignment.forms import GoalAdminForm
from alignment.models import Goal, KpiSnapshot


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    form = GoalAdminForm
    fields = ["name", "metric", "target", "period", "scope"]
    list_display = ["name", "metric", "target", "period", "scope"]
    list_filter = ["period", "metric"]
    list_select_related = ["campaign", "persona"]


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = ["metric", "period", "scope", "value", "computed_at"]
    list_filter = ["period", "metric", "scope_kind"]
    list_select_related = ["campaign", "persona"]
    fields = readonly_fields = ["metric", "period", "scope", "value", "computed_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # snapshots are computed, never typed in
