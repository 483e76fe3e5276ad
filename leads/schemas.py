"""The lead payload: one validation for the API (single and batch), CSV import and web forms.

Validation is pydantic (compiled) rather than a DRF serializer because a batch of 1,000 leads must validate
in milliseconds; error messages are turned into the API's ``{field: [message, …]}``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django_countries import countries
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from leads.models import Seniority, Source

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_email_validator = EmailValidator()
_COUNTRY_CODES = frozenset(code for code, _ in countries)
MAX_ATTRIBUTES_BYTES = 16 * 1024

READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "score",
        "fit_score",
        "engagement_score",
        "grade",
        "stage",
        "owner",
        "sla_due_at",
        "created_at",
        "updated_at",
        "score_breakdown",
        "scored_at",
    }
)


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _normalise_email(value: str) -> str:
    value = value.strip().lower()
    try:
        _email_validator(value)
    except DjangoValidationError:
        raise ValueError("enter a valid e-mail address") from None
    return value


def _country(value: str) -> str:
    value = value.strip().upper()
    if value and value not in _COUNTRY_CODES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return value


def _slug(value: str) -> str:
    if value and not _SLUG.match(value):
        raise ValueError("must be a slug (letters, digits, - and _)")
    return value


def limited_json_object(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object (lead attributes, activity metadata) of at most 16 KiB that PostgreSQL can store."""
    encoded = json.dumps(value, ensure_ascii=False)
    if len(encoded.encode()) > MAX_ATTRIBUTES_BYTES:
        raise ValueError("must be at most 16 KiB as JSON")
    # TRICKY: PostgreSQL's jsonb refuses \u0000 anywhere, which would surface as a server error.
    if "\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=max_length),
        AfterValidator(_no_control_characters),
    ]


class LeadIn(BaseModel):
    """Lead fields a client may write; every field but ``email`` is optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[
        str,
        StringConstraints(max_length=254),
        AfterValidator(_no_control_characters),
        AfterValidator(_normalise_email),
    ]
    first_name: _text(100) = ""  # type: ignore[valid-type]
    last_name: _text(100) = ""  # type: ignore[valid-type]
    company: _text(200) = ""  # type: ignore[valid-type]
    job_title: _text(200) = ""  # type: ignore[valid-type]
    seniority: Seniority | None = None
    is_decision_maker: bool | None = None
    company_size: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    industry: _text(100) = ""  # type: ignore[valid-type]
    country: Annotated[str, StringConstraints(max_length=2), AfterValidator(_country)] = ""
    phone: _text(40) = ""  # type: ignore[valid-type]
    persona: Annotated[str, StringConstraints(max_length=60), AfterValidator(_slug)] | None = None
    campaign: Annotated[str, StringConstraints(max_length=60), AfterValidator(_slug)] | None = None
    source: Source | None = None
    utm_source: _text(200) = ""  # type: ignore[valid-type]
    utm_medium: _text(200) = ""  # type: ignore[valid-type]
    utm_campaign: _text(200) = ""  # type: ignore[valid-type]
    external_id: _text(200) = ""  # type: ignore[valid-type]
    consent: bool | None = None
    attributes: Annotated[dict[str, Any], AfterValidator(limited_json_object)] = Field(default_factory=dict)


class LeadPatch(LeadIn):
    """The same fields for a change to an existing lead: nothing is required."""

    email: (
        Annotated[
            str,
            StringConstraints(max_length=254),
            AfterValidator(_no_control_characters),
            AfterValidator(_normalise_email),
        ]
        | None
    ) = None


def _messages(exc: PydanticValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        location = [str(part) for part in error["loc"]]
        # Drop pydantic's union-branch names ("int", "function-after[…]") so the field name is what shows.
        field = location[0] if location else "non_field_errors"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "Unknown field."
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        message = message[:1].upper() + message[1:]
        if not message.endswith("."):
            message += "."
        errors.setdefault(field, [])
        if message not in errors[field]:
            errors[field].append(message)
    return errors


def validate_lead(data: Any, *, partial: bool = False) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Validate one lead payload.

    Returns ``(fields, {})`` with only the fields the client sent (cleaned), or ``(None, errors)``.
    """
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Expected a JSON object."]}
    read_only = sorted(READ_ONLY_FIELDS.intersection(data))
    errors: dict[str, list[str]] = {name: ["This field is read-only."] for name in read_only}
    payload = {key: value for key, value in data.items() if key not in READ_ONLY_FIELDS}
    try:
        model = (LeadPatch if partial else LeadIn).model_validate(payload)
    except PydanticValidationError as exc:
        for field, messages in _messages(exc).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        return None, errors
    sent = model.model_fields_set
    cleaned = model.model_dump(include=sent)
    if partial and cleaned.get("email", "") is None:
        return None, {"email": ["This field may not be null."]}
    for key, value in cleaned.items():
        if value is None and key in {"seniority", "source"}:
            cleaned[key] = ""
        elif hasattr(value, "value"):
            cleaned[key] = value.value
    return cleaned, {}
