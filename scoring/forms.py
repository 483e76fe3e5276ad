"""The scoring page's proposal form: the draft's numbers, its fit rules (a formset) and engagement rules."""

from __future__ import annotations

from typing import Any

from django import forms

from leads.models import ActivityType, Grade
from scoring.models import ScoringModel
from scoring.rules import BOOL, FIT_FIELDS, NUMBER, OPERATOR_WORDS

OPERATOR_CHOICES = [
    (operator, f"{words} (comma-separated)" if operator == "in" else words)
    for operator, words in OPERATOR_WORDS.items()
]


class ModelNumbersForm(forms.Form):
    mql_threshold = forms.IntegerField(label="MQL threshold (score)", min_value=0, max_value=100_000)
    min_grade = forms.ChoiceField(label="Minimum grade", choices=Grade.choices)
    engagement_half_life_days = forms.FloatField(label="Half-life (days)", min_value=0.5, max_value=3650)
    band_a = forms.IntegerField(label="Grade A from fit")
    band_b = forms.IntegerField(label="Grade B from fit")
    band_c = forms.IntegerField(label="Grade C from fit")
    note = forms.CharField(label="Why this change", max_length=500, required=False)


class FitRuleForm(forms.Form):
    # A blank first choice, so that the empty rows for new rules count as unchanged when left alone.
    field = forms.ChoiceField(choices=[("", "\u2014"), *((f.name, f.label) for f in FIT_FIELDS.values())])
    operator = forms.ChoiceField(choices=[("", "\u2014"), *OPERATOR_CHOICES])
    value = forms.CharField(max_length=2000, required=False)
    points = forms.IntegerField(min_value=-1000, max_value=1000)
    label = forms.CharField(max_length=120)


FitRuleFormSet = forms.formset_factory(FitRuleForm, extra=2, can_delete=True, max_num=100)


class EngagementRuleForm(forms.Form):
    activity_type = forms.ChoiceField(choices=ActivityType.choices, widget=forms.HiddenInput)
    points = forms.IntegerField(min_value=0, max_value=1000, required=False)
    max_per_30_days = forms.IntegerField(min_value=1, max_value=1000, required=False)

    @property
    def type_label(self) -> str:
        value = self.initial.get("activity_type") or self.data.get(f"{self.prefix}-activity_type")
        # A posted form may name no activity type or a forged one: show it as sent (the field says why).
        return str(ActivityType(value).label) if value in ActivityType.values else str(value or "")


EngagementRuleFormSet = forms.formset_factory(EngagementRuleForm, extra=0)


def initial_from(model: ScoringModel | None) -> dict[str, Any]:
    """Initial values of the three forms, from the active model."""
    numbers: dict[str, Any] = {"mql_threshold": 60, "min_grade": "B", "engagement_half_life_days": 30.0}
    fit: list[dict[str, Any]] = []
    engagement = {t: {"activity_type": t} for t in ActivityType.values}
    if model is not None:
        numbers = {
            "mql_threshold": model.mql_threshold,
            "min_grade": model.min_grade,
            "engagement_half_life_days": model.engagement_half_life_days,
            "band_a": model.grade_bands.get("A"),
            "band_b": model.grade_bands.get("B"),
            "band_c": model.grade_bands.get("C"),
        }
        for rule in model.fit_rules:
            value = rule.get("value")
            shown = (
                ", ".join(str(v) for v in value)
                if isinstance(value, list)
                else ("" if value is True else value)
            )
            fit.append({**rule, "value": shown})
        # The active rules first, in their order, then the activity types without a rule.
        ordered = {rule["activity_type"]: dict(rule) for rule in model.engagement_rules}
        engagement = {**ordered, **{t: v for t, v in engagement.items() if t not in ordered}}
    return {"numbers": numbers, "fit": fit, "engagement": list(engagement.values())}


def _rule_value(field: str, operator: str, text: str) -> Any:
    kind = FIT_FIELDS[field].kind if field in FIT_FIELDS else None
    if kind == BOOL:
        return True
    parts = [part.strip() for part in text.split(",")] if operator == "in" else [text.strip()]
    if kind == NUMBER:
        try:
            numbers = [int(part) for part in parts]
        except ValueError:
            return parts if operator == "in" else text  # validation names the problem
        return numbers if operator == "in" else numbers[0]
    return [p for p in parts if p] if operator == "in" else parts[0]


def changes_from_forms(numbers: ModelNumbersForm, fit: Any, engagement: Any) -> dict[str, Any]:
    """The proposal (as the API takes it) from three valid forms."""
    data = numbers.cleaned_data
    fit_rules = [
        {
            "field": form.cleaned_data["field"],
            "operator": form.cleaned_data["operator"],
            "value": _rule_value(
                form.cleaned_data["field"], form.cleaned_data["operator"], form.cleaned_data["value"]
            ),
            "points": form.cleaned_data["points"],
            "label": form.cleaned_data["label"],
        }
        for form in fit.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
    engagement_rules = [
        {
            "activity_type": form.cleaned_data["activity_type"],
            "points": form.cleaned_data["points"],
            "max_per_30_days": form.cleaned_data.get("max_per_30_days") or 1,
        }
        for form in engagement.forms
        if form.cleaned_data.get("points") is not None
    ]
    return {
        "mql_threshold": data["mql_threshold"],
        "min_grade": data["min_grade"],
        "engagement_half_life_days": data["engagement_half_life_days"],
        "grade_bands": {"A": data["band_a"], "B": data["band_b"], "C": data["band_c"]},
        "note": data["note"],
        "fit_rules": fit_rules,
        "engagement_rules": engagement_rules,
    }
