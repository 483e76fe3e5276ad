"""Scoring model versions: propose a draft, approve it from both sides, activate it; plain words, diffs.

A draft becomes active once approved by a marketer and by a sales rep or manager, two different people.
Activation retires the previous active version, is recorded in the audit trail, and queues a full rescore.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.audit import record
from core.errors import Conflict, Forbidden, NotFound, ValidationProblem
from core.queue import enqueue_on_commit
from core.roles import MANAGERS, MARKETING, SALES, roles_of
from leads.models import ActivityType, Grade
from scoring.models import ScoringModel, ScoringModelStatus
from scoring.qualification import active_scoring_model
from scoring.scoring import ACTIVITY_LABELS, BOOL, FIT_FIELDS, NUMBER, OPERATORS_BY_KIND
from scoring.tasks import rescore_all_task

EDITABLE_FIELDS = (
    "mql_threshold",
    "min_grade",
    "engagement_half_life_days",
    "fit_rules",
    "engagement_rules",
    "grade_bands",
    "note",
)
MAX_RULES = 100
MAX_IN_VALUES = 200
MAX_POINTS = 1000
MAX_LABEL = 120
MAX_TEXT_VALUE = 200


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_text(value: Any, max_length: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "Must be a non-empty text."
    if len(value) > max_length:
        return f"Must be at most {max_length} characters."
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "Must not contain control characters."
    return None


def validate_fit_rule(rule: Any) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """One fit rule: ``{"field", "operator", "value", "points", "label"}``."""
    if not isinstance(rule, dict):
        return None, {"": ["Expected an object with field, operator, value, points and label."]}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(rule) - {"field", "operator", "value", "points", "label"})
    for name in unknown:
        errors[name] = ["Unknown field."]
    fit_field = FIT_FIELDS.get(rule.get("field"))  # type: ignore[arg-type]
    if fit_field is None:
        errors["field"] = [f"Must be one of: {', '.join(FIT_FIELDS)}."]
    operator = rule.get("operator")
    value = rule.get("value")
    if fit_field is not None:
        allowed = OPERATORS_BY_KIND[fit_field.kind]
        if operator not in allowed:
            errors["operator"] = [f"For {fit_field.name} use one of: {', '.join(allowed)}."]
        elif fit_field.kind == BOOL:
            if value not in (None, True):
                errors["value"] = ["is_true takes no value (or true)."]
            value = True
        elif operator == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN_VALUES:
                errors["value"] = [f"Must be a list of 1 to {MAX_IN_VALUES} values."]
            elif fit_field.kind == NUMBER and not all(_is_int(v) for v in value):
                errors["value"] = ["Must be a list of whole numbers."]
            elif fit_field.kind != NUMBER and any(_check_text(v, MAX_TEXT_VALUE) for v in value):
                errors["value"] = [
                    f"Every value must be a non-empty text of at most {MAX_TEXT_VALUE} characters."
                ]
        elif fit_field.kind == NUMBER:
            if not _is_int(value) or abs(value) > 10**9:
                errors["value"] = ["Must be a whole number."]
        else:
            problem = _check_text(value, MAX_TEXT_VALUE)
            if problem:
                errors["value"] = [problem]
    points = rule.get("points")
    if not _is_int(points) or abs(points) > MAX_POINTS:
        errors["points"] = [f"Must be a whole number between -{MAX_POINTS} and {MAX_POINTS}."]
    problem = _check_text(rule.get("label"), MAX_LABEL)
    if problem:
        errors["label"] = [problem]
    if errors:
        return None, errors
    if isinstance(value, str):
        value = value.strip()
    elif isinstance(value, list) and fit_field is not None and fit_field.kind != NUMBER:
        value = [v.strip() for v in value]
    return {
        "field": rule["field"],
        "operator": operator,
        "value": value,
        "points": points,
        "label": rule["label"].strip(),
    }, {}


def validate_engagement_rule(rule: Any) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """One engagement rule: ``{"activity_type", "points", "max_per_30_days"}``."""
    if not isinstance(rule, dict):
        return None, {"": ["Expected an object with activity_type, points and max_per_30_days."]}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(rule) - {"activity_type", "points", "max_per_30_days"}):
        errors[name] = ["Unknown field."]
    if rule.get("activity_type") not in ActivityType.values:
        errors["activity_type"] = [f"Must be one of: {', '.join(ActivityType.values)}."]
    points = rule.get("points")
    if not _is_int(points) or not 0 <= points <= MAX_POINTS:
        errors["points"] = [f"Must be a whole number between 0 and {MAX_POINTS}."]
    cap = rule.get("max_per_30_days")
    if not _is_int(cap) or not 1 <= cap <= 1000:
        errors["max_per_30_days"] = ["Must be a whole number between 1 and 1000."]
    if errors:
        return None, errors
    return {"activity_type": rule["activity_type"], "points": points, "max_per_30_days": cap}, {}


def validate_model_changes(data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate the fields of a proposal (any subset of ``EDITABLE_FIELDS``)."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["Expected a JSON object."]}
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name in sorted(set(data) - set(EDITABLE_FIELDS)):
        read_only = name in {"version", "status", "proposed_by", "approved_by", "activated_at", "created_at"}
        errors[name] = ["This field is read-only." if read_only else "Unknown field."]
    if "mql_threshold" in data:
        value = data["mql_threshold"]
        if not _is_int(value) or not 0 <= value <= 100_000:
            errors["mql_threshold"] = ["Must be a whole number between 0 and 100000."]
        else:
            clean["mql_threshold"] = value
    if "min_grade" in data:
        if data["min_grade"] not in Grade.values:
            errors["min_grade"] = ["Must be one of A, B, C, D."]
        else:
            clean["min_grade"] = data["min_grade"]
    if "engagement_half_life_days" in data:
        value = data["engagement_half_life_days"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 <= value <= 3650:
            errors["engagement_half_life_days"] = ["Must be a number of days between 0.5 and 3650."]
        else:
            clean["engagement_half_life_days"] = float(value)
    if "note" in data:
        note = data["note"]
        if not isinstance(note, str) or len(note) > 500:
            errors["note"] = ["Must be a text of at most 500 characters."]
        else:
            clean["note"] = note.strip()
    if "fit_rules" in data:
        rules = data["fit_rules"]
        if not isinstance(rules, list) or len(rules) > MAX_RULES:
            errors["fit_rules"] = [f"Must be a list of at most {MAX_RULES} rules."]
        else:
            cleaned_rules = []
            for index, rule in enumerate(rules):
                cleaned, rule_errors = validate_fit_rule(rule)
                for name, messages in rule_errors.items():
                    errors[f"fit_rules.{index}" + (f".{name}" if name else "")] = messages
                cleaned_rules.append(cleaned)
            clean["fit_rules"] = cleaned_rules
    if "engagement_rules" in data:
        rules = data["engagement_rules"]
        if not isinstance(rules, list) or len(rules) > len(ActivityType.values):
            errors["engagement_rules"] = ["Must be a list with at most one rule per activity type."]
        else:
            cleaned_rules = []
            for index, rule in enumerate(rules):
                cleaned, rule_errors = validate_engagement_rule(rule)
                for name, messages in rule_errors.items():
                    errors[f"engagement_rules.{index}" + (f".{name}" if name else "")] = messages
                cleaned_rules.append(cleaned)
            types = [r["activity_type"] for r in cleaned_rules if r]
            if len(types) != len(set(types)):
                errors["engagement_rules"] = ["Each activity type may have one rule only."]
            clean["engagement_rules"] = cleaned_rules
    if "grade_bands" in data:
        bands = data["grade_bands"]
        if (
            not isinstance(bands, dict)
            or set(bands) != {"A", "B", "C"}
            or not all(_is_int(v) and abs(v) <= 100_000 for v in bands.values())
        ):
            errors["grade_bands"] = ['Must be {"A": n, "B": n, "C": n} with whole numbers.']
        elif not bands["A"] >= bands["B"] >= bands["C"]:
            errors["grade_bands"] = ["The minimum fit for A must be at least B's, and B's at least C's."]
        else:
            clean["grade_bands"] = {"A": bands["A"], "B": bands["B"], "C": bands["C"]}
    return clean, errors


def _can_propose(user: Any) -> bool:
    return bool(roles_of(user) & {MARKETING, SALES, MANAGERS})


def propose_scoring_model(*, actor: Any, changes: Any) -> ScoringModel:
    """Create a draft: the fields given, the active version's values for the rest.

    Raises ``ValidationProblem`` with field errors when the changes are not valid.
    """
    if not _can_propose(actor):
        raise Forbidden("Only marketing and sales may propose a scoring model.")
    clean, errors = validate_model_changes(changes)
    if errors:
        raise ValidationProblem(errors, detail="The proposal is not valid.")
    base = active_scoring_model()
    values: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name in clean:
            values[name] = clean[name]
        elif base is not None and name != "note":
            values[name] = getattr(base, name)
    for attempt in range(3):
        try:
            with transaction.atomic():
                version = (ScoringModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1
                draft = ScoringModel.objects.create(
                    version=version, status=ScoringModelStatus.DRAFT, proposed_by=actor, **values
                )
                record(
                    actor=actor,
                    action="scoring_model.proposed",
                    obj=draft,
                    data={"version": version, "based_on": base.version if base else None},
                )
            return draft
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Approval:
    model: ScoringModel
    side: str  # "marketing" or "sales"
    activated: bool


def approval_side(user: Any, model: ScoringModel) -> str | None:
    """Which side ``user`` can still approve ``model`` for (``None``: none)."""
    if model.status != ScoringModelStatus.DRAFT:
        return None
    if user.pk in (model.approved_by_marketing_id, model.approved_by_sales_id):
        return None
    roles = roles_of(user)
    if MARKETING in roles and model.approved_by_marketing_id is None:
        return "marketing"
    if roles & {SALES, MANAGERS} and model.approved_by_sales_id is None:
        return "sales"
    return None


def approve_scoring_model(*, actor: Any, version: int) -> Approval:
    """Approve a draft for the actor's side; the second side's approval activates it.

    One user approves for one side only. Activation retires the active version, records it in the audit
    trail and queues a full rescore once the transaction commits.
    """
    roles = roles_of(actor)
    if not roles & {MARKETING, SALES, MANAGERS}:
        raise Forbidden("Only marketing and sales may approve a scoring model.")
    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().filter(version=version).first()
        if model is None:
            raise NotFound("No such version.")
        if model.status != ScoringModelStatus.DRAFT:
            raise Conflict(f"Version {version} is {model.status}, not a draft.")
        if actor.pk in (model.approved_by_marketing_id, model.approved_by_sales_id):
            raise Conflict("You have approved this version already; the other team must approve it.")
        side = approval_side(actor, model)
        if side is None:
            raise Conflict("Your team has approved this version already.")
        now = timezone.now()
        if side == "marketing":
            model.approved_by_marketing = actor
            model.marketing_approved_at = now
        else:
            model.approved_by_sales = actor
            model.sales_approved_at = now
        fields = ["approved_by_marketing", "marketing_approved_at", "approved_by_sales", "sales_approved_at"]
        record(
            actor=actor, action="scoring_model.approved", obj=model, data={"version": version, "side": side}
        )
        activated = model.approved_by_marketing_id is not None and model.approved_by_sales_id is not None
        if activated:
            previous = (
                ScoringModel.objects.select_for_update().filter(status=ScoringModelStatus.ACTIVE).first()
            )
            if previous is not None:
                previous.status = ScoringModelStatus.RETIRED
                previous.save(update_fields=["status"])
            model.status = ScoringModelStatus.ACTIVE
            model.activated_at = now
            fields += ["status", "activated_at"]
            record(
                actor=actor,
                action="scoring_model.activated",
                obj=model,
                data={"version": version, "retired": previous.version if previous else None},
            )
            enqueue_on_commit(rescore_all_task, reason=f"activation of v{version}")
        model.save(update_fields=fields)
    return Approval(model=model, side=side, activated=activated)


# --- Plain words and diffs, for the page ------------------------------------------------------------------

_SENIORITY_WORDS = {"c_level": "C-level", "vp": "VP", "director": "Director", "manager": "Manager"}


def _points(points: int) -> str:
    return f"+{points}" if points >= 0 else f"\u2212{-points}"


def describe_fit_rule(rule: dict[str, Any]) -> str:
    """The technical reading of a rule, under its human label ("Seniority is one of C-level, VP")."""
    fit_field = FIT_FIELDS.get(rule.get("field", ""))
    name = fit_field.label if fit_field else rule.get("field", "?")
    operator = rule.get("operator", "")
    if operator == "is_true":
        return f"{name}: yes"
    value = rule.get("value")
    if isinstance(value, list):
        shown = ", ".join(_SENIORITY_WORDS.get(str(v), str(v)) for v in value)
    else:
        shown = _SENIORITY_WORDS.get(str(value), str(value))
    words = {"eq": "is", "in": "is one of", "contains": "contains", "gte": "is at least", "lte": "is at most"}
    return f"{name} {words.get(operator, operator)} {shown}"


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
