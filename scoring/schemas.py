"""A proposed scoring model: the fields a proposal may change, their rules and their error messages.

Validation is pydantic, like the lead payload (``leads.schemas``); errors come out as the API's
``{field: [message, …]}`` with nested fields joined by dots (``fit_rules.0.value``). A fit rule's operator and
value are checked against its field's kind (``scoring.rules.FIT_FIELDS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.text import text_problem
from leads.models import ActivityType, Grade
from scoring.rules import BOOL, FIT_FIELDS, NUMBER, OPERATORS_BY_KIND

EDITABLE_FIELDS = (
    "mql_threshold",
    "min_grade",
    "engagement_half_life_days",
    "fit_rules",
    "engagement_rules",
    "grade_bands",
    "note",
)
READ_ONLY_FIELDS = frozenset(
    {"version", "status", "proposed_by", "approved_by", "activated_at", "created_at"}
)
MAX_RULES = 100
MAX_IN_VALUES = 200
MAX_POINTS = 1000
MAX_LABEL = 120
MAX_TEXT_VALUE = 200
MAX_NUMBER_VALUE = 10**9


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", message)


def _message(message: str) -> WrapValidator:
    """Whatever is wrong with the value, say ``message`` (the API's wording, not pydantic's)."""

    def wrap(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise _invalid(message) from None

    return WrapValidator(wrap)


def _text_problem(value: Any, max_length: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "Must be a non-empty text."
    if len(value) > max_length:
        return f"Must be at most {max_length} characters."
    return text_problem(value, multiline=False)


def _text(max_length: int) -> AfterValidator:
    """A non-empty text without control characters, stripped."""

    def check(value: Any) -> str:
        problem = _text_problem(value, max_length)
        if problem:
            raise _invalid(problem)
        return str(value).strip()

    return AfterValidator(check)


def _one_of(choices: list[str], message: str) -> AfterValidator:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise _invalid(message)
        return value

    return AfterValidator(check)


def _list_of(max_items: int, message: str) -> BeforeValidator:
    """The shape of a list of rules; the rules themselves are validated one by one, each under its index."""

    def check(value: Any) -> Any:
        if not isinstance(value, list) or len(value) > max_items:
            raise _invalid(message)
        return value

    return BeforeValidator(check)


class FitRuleIn(BaseModel):
    """One fit rule: ``{"field", "operator", "value", "points", "label"}``."""

    model_config = ConfigDict(extra="forbid")

    field: Annotated[Any, _one_of(list(FIT_FIELDS), f"Must be one of: {', '.join(FIT_FIELDS)}.")]
    operator: Any = Field(default=None, validate_default=True)
    value: Any = Field(default=None, validate_default=True)
    points: Annotated[
        StrictInt,
        Field(ge=-MAX_POINTS, le=MAX_POINTS),
        _message(f"Must be a whole number between -{MAX_POINTS} and {MAX_POINTS}."),
    ]
    label: Annotated[Any, _text(MAX_LABEL)]

    @model_validator(mode="before")
    @classmethod
    def an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise _invalid("Expected an object with field, operator, value, points and label.")
        return data

    @field_validator("operator", mode="after")
    @classmethod
    def operator_fits_the_field(cls, operator: Any, info: ValidationInfo) -> Any:
        fit_field = FIT_FIELDS.get(info.data.get("field", ""))
        if fit_field is not None:
            allowed = OPERATORS_BY_KIND[fit_field.kind]
            if operator not in allowed:
                raise _invalid(f"For {fit_field.name} use one of: {', '.join(allowed)}.")
        return operator

    @field_validator("value", mode="after")
    @classmethod
    def value_fits_the_operator(cls, value: Any, info: ValidationInfo) -> Any:
        fit_field = FIT_FIELDS.get(info.data.get("field", ""))
        operator = info.data.get("operator")
        if fit_field is None or operator is None:
            return value  # the field or the operator has its own message; the value cannot be judged
        if fit_field.kind == BOOL:
            if value not in (None, True):
                raise _invalid("is_true takes no value (or true).")
            return True
        number = fit_field.kind == NUMBER
        if operator == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN_VALUES:
                raise _invalid(f"Must be a list of 1 to {MAX_IN_VALUES} values.")
            if number:
                if not all(_is_int(v) for v in value):
                    raise _invalid("Must be a list of whole numbers.")
                return value
            if any(_text_problem(v, MAX_TEXT_VALUE) for v in value):
                raise _invalid(
                    f"Every value must be a non-empty text of at most {MAX_TEXT_VALUE} characters."
                )
            return [v.strip() for v in value]
        if number:
            if not _is_int(value) or abs(value) > MAX_NUMBER_VALUE:
                raise _invalid("Must be a whole number.")
            return value
        problem = _text_problem(value, MAX_TEXT_VALUE)
        if problem:
            raise _invalid(problem)
        return value.strip()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class EngagementRuleIn(BaseModel):
    """One engagement rule: ``{"activity_type", "points", "max_per_30_days"}``."""

    model_config = ConfigDict(extra="forbid")

    activity_type: Annotated[
        Any, _one_of(list(ActivityType.values), f"Must be one of: {', '.join(ActivityType.values)}.")
    ]
    points: Annotated[
        StrictInt, Field(ge=0, le=MAX_POINTS), _message(f"Must be a whole number between 0 and {MAX_POINTS}.")
    ]
    max_per_30_days: Annotated[
        StrictInt, Field(ge=1, le=1000), _message("Must be a whole number between 1 and 1000.")
    ]

    @model_validator(mode="before")
    @classmethod
    def an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise _invalid("Expected an object with activity_type, points and max_per_30_days.")
        return data


class GradeBands(BaseModel):
    """The minimum fit for grades A, B and C (below C is D)."""

    model_config = ConfigDict(extra="forbid")

    A: Annotated[StrictInt, Field(ge=-100_000, le=100_000)]
    B: Annotated[StrictInt, Field(ge=-100_000, le=100_000)]
    C: Annotated[StrictInt, Field(ge=-100_000, le=100_000)]


def _bands_in_order(bands: GradeBands) -> GradeBands:
    if not bands.A >= bands.B >= bands.C:
        raise _invalid("The minimum fit for A must be at least B's, and B's at least C's.")
    return bands


def _one_rule_per_type(rules: list[EngagementRuleIn]) -> list[EngagementRuleIn]:
    types = [rule.activity_type for rule in rules]
    if len(types) != len(set(types)):
        raise _invalid("Each activity type may have one rule only.")
    return rules


class ModelChanges(BaseModel):
    """A proposal: any subset of ``EDITABLE_FIELDS``; the fields left out keep the active version's values.

    The defaults (``None``) only stand for "not sent": ``null`` is invalid, and only the fields sent are used.
    """

    model_config = ConfigDict(extra="forbid")

    mql_threshold: Annotated[
        StrictInt, Field(ge=0, le=100_000), _message("Must be a whole number between 0 and 100000.")
    ] = None  # type: ignore[assignment]  # None: not sent (null is refused)
    min_grade: Annotated[Any, _one_of(list(Grade.values), "Must be one of A, B, C, D.")] = None
    engagement_half_life_days: Annotated[
        StrictInt | StrictFloat,
        Field(ge=0.5, le=3650),
        _message("Must be a number of days between 0.5 and 3650."),
        AfterValidator(float),
    ] = None  # type: ignore[assignment]  # None: not sent (null is refused)
    fit_rules: Annotated[
        list[FitRuleIn], _list_of(MAX_RULES, f"Must be a list of at most {MAX_RULES} rules.")
    ] = None  # type: ignore[assignment]  # None: not sent (null is refused)
    engagement_rules: Annotated[
        list[EngagementRuleIn],
        _list_of(len(ActivityType.values), "Must be a list with at most one rule per activity type."),
        AfterValidator(_one_rule_per_type),
    ] = None  # type: ignore[assignment]  # None: not sent (null is refused)
    grade_bands: Annotated[
        GradeBands,
        _message('Must be {"A": n, "B": n, "C": n} with whole numbers.'),
        AfterValidator(_bands_in_order),
    ] = None  # type: ignore[assignment]  # None: not sent (null is refused)
    note: Annotated[
        StrictStr, Field(max_length=500), _message("Must be a text of at most 500 characters.")
    ] = None  # type: ignore[assignment]  # None: not sent (null is refused)

    @field_validator("note", mode="after")
    @classmethod
    def stripped(cls, note: str) -> str:
        problem = text_problem(note, multiline=True)
        if problem:
            raise _invalid(problem)
        return note.strip()


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "non_field_errors"
        message = "Unknown field." if error["type"] == "extra_forbidden" else error["msg"]
        if not message.endswith("."):
            message += "."  # pydantic's own few ("Field required")
        if message not in errors.setdefault(field, []):
            errors[field].append(message)
    return errors


def validate_model_changes(data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate the fields of a proposal: ``(cleaned fields sent, {})`` or ``({}, errors)``."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["Expected a JSON object."]}
    errors = {name: ["This field is read-only."] for name in sorted(READ_ONLY_FIELDS.intersection(data))}
    payload = {name: value for name, value in data.items() if name not in READ_ONLY_FIELDS}
    try:
        changes = ModelChanges.model_validate(payload)
    except ValidationError as exc:
        errors.update(_errors(exc))
    if errors:
        return {}, errors
    return changes.model_dump(include=changes.model_fields_set), {}
