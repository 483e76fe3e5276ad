"""The lead payload: one validation for the API (single and batch), CSV import and web forms.

Validation is pydantic (compiled) rather than a DRF serializer because a batch of 1,000 leads must validate
in milliseconds; error messages are turned into the API's ``{field: [message, …]}``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db.models import TextChoices
from django_countries import countries
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    create_model,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from core.json_values import json_value_problem
from core.text import one_line
from leads.fields import (
    CHOICE_NAMES,
    LEAD_FIELDS,
    MAX_COUNT,
    READ_ONLY_NAMES,
    WRITABLE_FIELDS,
    Kind,
    LeadField,
)

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_email_validator = EmailValidator()
# TRICKY: Django compiles the validator's patterns lazily behind a proxy that costs on every use (a batch
# checks a thousand addresses); the same patterns, compiled once.
for _name in ("user_regex", "domain_regex", "literal_regex"):
    _lazy = getattr(EmailValidator, _name)
    setattr(_email_validator, _name, re.compile(_lazy.pattern, _lazy.flags))
_COUNTRY_CODES = frozenset(code for code, _ in countries)
MAX_ATTRIBUTES_BYTES = 16 * 1024
_EMAIL_MAX_LENGTH: int = LEAD_FIELDS["email"].max_length or 254


def canonical_email(value: str) -> str:
    """An e-mail address as it is stored and matched: NFKC-normalised (a domain in fullwidth letters is
    the plain domain), trimmed and lower-case. Invisible characters (zero-width spaces, joiners, BOMs: Unicode
    format characters) would make a look-alike of another lead's address, so they are refused.
    """
    if value.isascii():  # NFKC leaves ASCII as it is, and no format character is ASCII
        return value.strip().lower()
    value = unicodedata.normalize("NFKC", value).strip().lower()
    if any(unicodedata.category(ch) == "Cf" for ch in value):
        raise ValueError("must not contain invisible characters such as zero-width spaces")
    return value


def _normalise_email(value: str) -> str:
    value = canonical_email(value)
    # NFKC may lengthen a value (one ligature becomes several letters): check the length again.
    if len(value) > _EMAIL_MAX_LENGTH:
        raise ValueError(f"must be at most {_EMAIL_MAX_LENGTH} characters")
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
    """A JSON object (lead attributes, activity metadata) of at most 16 KiB that PostgreSQL can store:
    finite numbers, no NUL, no lone surrogates, not nested too deep (``core.json_values``)."""
    problem = json_value_problem(value)
    if problem:
        raise ValueError(problem)
    encoded = json.dumps(value, ensure_ascii=False)
    if len(encoded.encode()) > MAX_ATTRIBUTES_BYTES:
        raise ValueError("must be at most 16 KiB as JSON")
    return value


_Email = Annotated[
    str,
    StringConstraints(max_length=LEAD_FIELDS["email"].max_length),
    AfterValidator(one_line),
    AfterValidator(_normalise_email),
]


def _field_type(field: LeadField) -> tuple[Any, Any]:
    """The pydantic type of a writable lead field and its default (the value when it is not sent)."""
    max_length = field.max_length
    if field.kind is Kind.EMAIL:
        return _Email, ...
    if field.kind is Kind.TEXT:
        return Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=max_length), AfterValidator(one_line)
        ], ""
    if field.kind is Kind.CHOICE:
        return cast(type[TextChoices], field.choices) | None, None  # a choice field has its choices
    if field.kind is Kind.BOOL:
        return bool | None, None
    if field.kind is Kind.COUNT:
        return Annotated[int, Field(ge=1, le=MAX_COUNT)] | None, None
    if field.kind is Kind.COUNTRY:
        return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_country)], ""
    if field.kind is Kind.SLUG:
        return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_slug)] | None, None
    if field.kind is Kind.JSON:
        return Annotated[dict[str, Any], AfterValidator(limited_json_object)], Field(default_factory=dict)
    raise TypeError(f"no payload type for a {field.kind} field ({field.name})")


_WRITABLE_TYPES: dict[str, Any] = {field.name: _field_type(field) for field in WRITABLE_FIELDS}
LeadIn: type[BaseModel] = create_model(
    "LeadIn",
    __doc__="Lead fields a client may write; every field but ``email`` is optional.",
    __config__=ConfigDict(extra="forbid", str_strip_whitespace=True),
    __module__=__name__,
    **_WRITABLE_TYPES,
)
LeadPatch: type[BaseModel] = create_model(
    "LeadPatch",
    __doc__="The same fields for a change to an existing lead: nothing is required.",
    __base__=LeadIn,
    __module__=__name__,
    email=(_Email | None, None),
)


def field_messages(exc: PydanticValidationError) -> dict[str, list[str]]:
    return _messages(exc.errors(include_url=False))


def _messages(details: Iterable[ErrorDetails], *, skip: int = 0) -> dict[str, list[str]]:
    """``{field: [message, …]}`` of pydantic's errors, the first ``skip`` parts of each location left out
    (a list's index)."""
    errors: dict[str, list[str]] = {}
    for error in details:
        location = [str(part) for part in error["loc"][skip:]]
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


_LEADS = TypeAdapter(list[LeadIn])  # type: ignore[valid-type]  # a model made by create_model


def validate_leads(items: Sequence[Any]) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, list[str]]]]:
    """Validate many lead payloads in one pass of the compiled validator: ``({index: fields sent, cleaned},
    {index: errors})``. Each item is judged on its own, as ``validate_lead`` would: a bad item never blocks
    the others (they are validated again, without it, in a second pass)."""
    errors: dict[int, dict[str, list[str]]] = {}
    payloads: dict[int, dict[str, Any]] = {}
    for index, data in enumerate(items):
        if not isinstance(data, dict):
            errors[index] = {"non_field_errors": ["Expected a JSON object."]}
            continue
        if READ_ONLY_NAMES.isdisjoint(data):
            payloads[index] = data
            continue
        errors[index] = {
            name: ["This field is read-only."] for name in sorted(READ_ONLY_NAMES.intersection(data))
        }
        payloads[index] = {key: value for key, value in data.items() if key not in READ_ONLY_NAMES}
    indexes = list(payloads)
    try:
        models = _LEADS.validate_python([payloads[i] for i in indexes])
    except PydanticValidationError as exc:
        by_item: dict[int, list[ErrorDetails]] = {}
        for detail in exc.errors(include_url=False):
            by_item.setdefault(indexes[cast(int, detail["loc"][0])], []).append(detail)
        for index, details in by_item.items():
            for name, messages in _messages(details, skip=1).items():
                errors.setdefault(index, {}).setdefault(name, []).extend(messages)
        indexes = [i for i in indexes if i not in errors]
        models = _LEADS.validate_python([payloads[i] for i in indexes])
    # Items refused for a read-only field may otherwise be valid: they are still errors.
    kept = [(i, model) for i, model in zip(indexes, models, strict=True) if i not in errors]
    cleaned = _LEADS.dump_python([model for _, model in kept], mode="json", exclude_unset=True)
    valid: dict[int, dict[str, Any]] = {}
    for (index, _), row in zip(kept, cleaned, strict=True):
        for name in CHOICE_NAMES:
            if name in row and row[name] is None:
                row[name] = ""
        valid[index] = row
    return valid, errors


def validate_lead(data: Any, *, partial: bool = False) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Validate one lead payload.

    Returns ``(fields, {})`` with only the fields the client sent (cleaned), or ``(None, errors)``.
    """
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Expected a JSON object."]}
    read_only = sorted(READ_ONLY_NAMES.intersection(data))
    errors: dict[str, list[str]] = {name: ["This field is read-only."] for name in read_only}
    payload = {key: value for key, value in data.items() if key not in READ_ONLY_NAMES}
    try:
        model = (LeadPatch if partial else LeadIn).model_validate(payload)
    except PydanticValidationError as exc:
        for field, messages in field_messages(exc).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        return None, errors
    sent = model.model_fields_set
    cleaned = model.model_dump(include=sent)
    if partial and cleaned.get("email", "") is None:
        return None, {"email": ["This field may not be null."]}
    for key, value in cleaned.items():
        if value is None and key in CHOICE_NAMES:
            cleaned[key] = ""
        elif hasattr(value, "value"):
            cleaned[key] = value.value
    return cleaned, {}
