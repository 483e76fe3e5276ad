"""Goal forms: the page's and the admin's, with the same rules as the API."""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from alignment.goals import GOAL_METRICS, validate_target
from alignment.kpi_format import parse_target
from alignment.models import Goal
from alignment.periods import InvalidPeriod, add_months, month_of, parse_period, quarter_of
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


def period_choices(*, today: date, keep: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """The periods a goal is usually set for: the last six months to a year ahead, and quarters likewise
    (plus ``keep``, the period of the goal being edited, wherever it lies)."""
    this_month, this_quarter = month_of(today), quarter_of(today)
    months = [month_of(add_months(this_month.first_day, offset)) for offset in range(-6, 13)]
    quarters = [quarter_of(add_months(this_quarter.first_day, 3 * offset)) for offset in range(-2, 5)]
    choices = [
        ("Months", [(p.key, p.label) for p in months]),
        ("Quarters", [(p.key, p.label) for p in quarters]),
    ]
    known = {p.key for p in [*months, *quarters]}
    if keep and keep not in known:
        with suppress(InvalidPeriod):  # a stored period is valid; the form then refuses nothing it shows
            choices.insert(0, ("This goal", [(keep, parse_period(keep).label)]))
    return choices


class GoalForm(GoalRules, forms.Form):
    """The managers' goal form: targets as a person writes them (``80`` for 80 %, ``1.8 M``), the period
    from a list."""

    name = forms.CharField(max_length=120)
    metric = forms.ChoiceField(choices=METRIC_CHOICES, label="KPI")
    target = forms.CharField(
        max_length=40, help_text="Rates in percent (80 for 80 %); amounts like 1.8 M or 250 k; counts as is."
    )
    period = forms.ChoiceField(choices=[])
    scope = forms.ChoiceField(choices=[("all", "All leads")], initial="all")

    def __init__(
        self,
        *args: Any,
        scope_choices: list[tuple[str, str]],
        today: date,
        keep_period: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scope_choices
        self.fields["period"].choices = period_choices(today=today, keep=keep_period)

    def clean_target(self) -> Decimal:
        metric = self.cleaned_data.get("metric")
        if not metric:
            raise forms.ValidationError("Choose the KPI first.")
        try:
            return parse_target(self.cleaned_data["target"], kpi=metric)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


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
