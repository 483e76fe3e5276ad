from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from alignment.goals import GOAL_METRICS, validate_target
from alignment.kpis import InvalidScope, parse_scope
from alignment.models import Goal, KpiSnapshot
from alignment.periods import InvalidPeriod, parse_period


class GoalAdminForm(forms.ModelForm):
    """The same rules as the API and the goals page: a registry KPI, a valid period and scope."""

    metric = forms.ChoiceField(choices=[(kpi.key, kpi.label) for kpi in GOAL_METRICS])

    class Meta:
        model = Goal
        fields = ["name", "metric", "target", "period", "scope"]

    def clean_period(self) -> str:
        try:
            return parse_period(self.cleaned_data["period"]).key
        except InvalidPeriod as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_scope(self) -> str:
        try:
            return parse_scope(self.cleaned_data["scope"])
        except InvalidScope as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("metric") and data.get("target") is not None:
            message = validate_target(metric=data["metric"], target=data["target"])
            if message:
                self.add_error("target", message)
        return data


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    form = GoalAdminForm
    list_display = ["name", "metric", "target", "period", "scope"]
    list_filter = ["period", "metric"]


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = ["metric", "period", "scope", "value", "computed_at"]
    list_filter = ["period", "metric"]
    readonly_fields = ["metric", "period", "scope", "value", "computed_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # snapshots are computed, never typed in
