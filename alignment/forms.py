"""Goal forms: the page's and the admin's, with the same rules as the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from alignment.goals import GOAL_METRICS, validate_target
from alignment.models import Goal
from alignment.periods import InvalidPeriod, parse_period
from alignment.scopes import InvalidScope, Scope, resolve_scope

METRIC_CHOICES = [(kpi.key, kpi.label) for kpi in GOAL_METRICS]


class GoalRules:
    """A registry KPI, a valid period and scope, and a target that fits the KPI's unit."""

    def clean_period(self) -> str:
        try:
            return parse_period(self.cleaned_data["period"]).key  # type: ignore[attr-defined]
        except InvalidPeriod as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_scope(self) -> Scope:
        try:
            return resolve_scope(self.cleaned_data["scope"])  # type: ignore[attr-defined]
        except InvalidScope as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}  # type: ignore[misc]
        if data.get("metric") and data.get("target") is not None:
            message = validate_target(metric=data["metric"], target=data["target"])
            if message:
                self.add_error("target", message)  # type: ignore[attr-defined]
        return data


class GoalForm(GoalRules, forms.Form):
    name = forms.CharField(max_length=120)
    metric = forms.ChoiceField(choices=METRIC_CHOICES, label="KPI")
    target = forms.DecimalField(
        max_digits=16, decimal_places=4, min_value=Decimal(0), help_text="Rates as a fraction: 0.8 for 80 %."
    )
    period = forms.CharField(max_length=7, help_text="A month 2026-11 or a quarter 2026-Q4.")
    scope = forms.ChoiceField(choices=[("all", "All leads")], initial="all")

    def __init__(self, *args: Any, scope_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scope_choices


class GoalAdminForm(GoalRules, forms.ModelForm):
    metric = forms.ChoiceField(choices=METRIC_CHOICES)
    scope = forms.CharField(
        max_length=80, initial="all", help_text="all, campaign:<slug>, persona:<slug>, rep:<id>"
    )

    class Meta:
        model = Goal
        fields = ["name", "metric", "target", "period"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scope"] = self.instance.scope

    def _post_clean(self) -> None:
        # The scope's columns are set before the model validates its constraints.
        if isinstance(self.cleaned_data.get("scope"), Scope):
            self.instance.scope = self.cleaned_data["scope"]
        super()._post_clean()
