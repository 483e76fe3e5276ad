"""A scoring model in plain words: rule sentences for the page, and what a draft changes against the active
version."""

from __future__ import annotations

from typing import Any

from leads.models import Seniority
from scoring.models import ScoringModel
from scoring.rules import ACTIVITY_LABELS, FIT_FIELDS, OPERATOR_WORDS

# Values shown as people read them; only seniority has stored codes ("c_level") rather than words.
_VALUE_WORDS = {"seniority": dict(Seniority.choices)}


def _points(points: int) -> str:
    return f"+{points}" if points >= 0 else f"\u2212{-points}"


def describe_fit_rule(rule: dict[str, Any]) -> str:
    """The technical reading of a rule, under its human label ("Seniority is one of C-level, VP")."""
    fit_field = FIT_FIELDS.get(rule.get("field", ""))
    name = fit_field.label if fit_field else rule.get("field", "?")
    operator = rule.get("operator", "")
    if operator == "is_true":
        return f"{name}: yes"
    words = _VALUE_WORDS.get(rule.get("field", ""), {})
    value = rule.get("value")
    values = value if isinstance(value, list) else [value]
    shown = ", ".join(str(words.get(str(v), v)) for v in values)
    return f"{name} {OPERATOR_WORDS.get(operator, operator)} {shown}"


def fit_rule_sentence(rule: dict[str, Any]) -> str:
    return f"{rule['label']}: {_points(int(rule['points']))}"


def engagement_rule_sentence(rule: dict[str, Any], half_life: float) -> str:
    label = ACTIVITY_LABELS.get(rule["activity_type"], rule["activity_type"])
    return (
        f"{label}: {_points(int(rule['points']))} each, at most {rule['max_per_30_days']} per 30 days, "
        f"halving every {half_life:g} days"
    )


def _rule_key(rule: dict[str, Any]) -> tuple[str, str, str]:
    value = rule.get("value")
    return (rule.get("field", ""), rule.get("operator", ""), repr(value))


def model_diff(*, old: ScoringModel | None, new: ScoringModel) -> list[dict[str, str]]:
    """What ``new`` changes against ``old``: ``[{"kind": added/removed/changed, "what", "old", "new"}]``."""
    changes: list[dict[str, str]] = []

    def change(kind: str, what: str, before: Any = "", after: Any = "") -> None:
        changes.append({"kind": kind, "what": what, "old": str(before), "new": str(after)})

    if old is None:
        change("added", "Everything (there is no active version)")
        return changes
    if old.mql_threshold != new.mql_threshold:
        change("changed", "MQL threshold", old.mql_threshold, new.mql_threshold)
    if old.min_grade != new.min_grade:
        change("changed", "Minimum grade", old.min_grade, new.min_grade)
    if float(old.engagement_half_life_days) != float(new.engagement_half_life_days):
        change(
            "changed",
            "Engagement half-life (days)",
            f"{old.engagement_half_life_days:g}",
            f"{new.engagement_half_life_days:g}",
        )
    for letter in "ABC":
        before, after = old.grade_bands.get(letter), new.grade_bands.get(letter)
        if before != after:
            change("changed", f"Grade {letter} from fit", before, after)
    old_rules = {_rule_key(r): r for r in old.fit_rules}
    new_rules = {_rule_key(r): r for r in new.fit_rules}
    for key, rule in new_rules.items():
        before = old_rules.get(key)
        if before is None:
            change("added", f"Fit: {describe_fit_rule(rule)}", "", fit_rule_sentence(rule))
        elif (before["points"], before["label"]) != (rule["points"], rule["label"]):
            change(
                "changed",
                f"Fit: {describe_fit_rule(rule)}",
                fit_rule_sentence(before),
                fit_rule_sentence(rule),
            )
    for key, rule in old_rules.items():
        if key not in new_rules:
            change("removed", f"Fit: {describe_fit_rule(rule)}", fit_rule_sentence(rule), "")
    old_engagement = {r["activity_type"]: r for r in old.engagement_rules}
    new_engagement = {r["activity_type"]: r for r in new.engagement_rules}
    for activity_type, rule in new_engagement.items():
        label = ACTIVITY_LABELS.get(activity_type, activity_type)
        before = old_engagement.get(activity_type)
        after_text = f"{_points(rule['points'])}, at most {rule['max_per_30_days']} per 30 days"
        if before is None:
            change("added", f"Engagement: {label}", "", after_text)
        elif (before["points"], before["max_per_30_days"]) != (rule["points"], rule["max_per_30_days"]):
            before_text = f"{_points(before['points'])}, at most {before['max_per_30_days']} per 30 days"
            change("changed", f"Engagement: {label}", before_text, after_text)
    for activity_type, rule in old_engagement.items():
        if activity_type not in new_engagement:
            label = ACTIVITY_LABELS.get(activity_type, activity_type)
            change("removed", f"Engagement: {label}", f"{_points(rule['points'])}", "")
    return changes
