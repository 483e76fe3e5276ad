"""Web forms: what a form asks for and where its leads go; creating, changing and deleting forms.

The rules for a form's definition are Django validators, so the API's serializer and the page's form run
the same ones. Taking submissions is ``leads.webforms_submit``; the numbers of the form page are
``leads.webforms_report``.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from core.audit import record
from core.text import has_control_characters
from leads.fields import IMPORTABLE_FIELDS, Kind, LeadField
from leads.models import WebForm

# The lead fields a form may ask for: what a text input can hold, except the campaign and persona, which
# the form itself sets.
FORM_FIELDS: dict[str, LeadField] = {
    field.name: field for field in IMPORTABLE_FIELDS if field.kind is not Kind.SLUG
}
MAX_LABEL_LENGTH = 100
MAX_ORIGINS = 20
HONEYPOT_FIELD = "website"
DEFAULT_THANK_YOU = "Thank you! We will be in touch soon."
# What a form definition holds besides its fields; the interfaces pass these through as they are.
DEFINITION_NAMES = (
    "name",
    "fields",
    "campaign",
    "persona",
    "consent_text",
    "thank_you",
    "redirect_url",
    "allowed_origins",
    "active",
)


# Where a form may send people after a submission: a web page, never javascript: or data: addresses.
http_url = URLValidator(schemes=["http", "https"], message="Enter an http or https address.")


def normalise_fields(value: Any) -> list[dict[str, Any]]:
    """A form's fields as stored: known lead fields, each once, with e-mail first and always required.

    Validator and normaliser in one: raises ``ValidationError`` naming the item, returns the clean list.
    """
    if not isinstance(value, list):
        raise ValidationError("Expected a list of fields.")
    if len(value) > len(FORM_FIELDS):
        raise ValidationError(f"A form has at most {len(FORM_FIELDS)} fields.")
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValidationError(f"Field {index + 1}: expected an object with name, required and label.")
        unknown = sorted(str(key) for key in item if key not in {"name", "required", "label"})
        if unknown:
            raise ValidationError(f"Field {index + 1}: unknown keys {', '.join(unknown)}.")
        name = item.get("name")
        if not isinstance(name, str) or name not in FORM_FIELDS:
            raise ValidationError(f"Field {index + 1}: {name!r} is not a lead field a form may ask for.")
        if name in seen:
            raise ValidationError(f"Field {index + 1}: {name} is asked for twice.")
        seen.add(name)
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise ValidationError(f"Field {index + 1}: required must be true or false.")
        label = item.get("label") or FORM_FIELDS[name].label
        if not isinstance(label, str):
            raise ValidationError(f"Field {index + 1}: label must be text.")
        label = label.strip()
        if len(label) > MAX_LABEL_LENGTH or has_control_characters(label, multiline=False):
            raise ValidationError(
                f"Field {index + 1}: the label must be one line of at most {MAX_LABEL_LENGTH} characters."
            )
        cleaned.append({"name": name, "required": required or name == "email", "label": label})
    if "email" not in seen:
        cleaned.insert(0, {"name": "email", "required": True, "label": FORM_FIELDS["email"].label})
    else:
        cleaned.sort(key=lambda item: item["name"] != "email")
    return cleaned


def normalise_origin(value: str) -> str:
    """``https://www.example.com`` (scheme and host, and a port if not the default): what browsers send."""
    if not isinstance(value, str) or has_control_characters(value, multiline=False):
        raise ValidationError(f"{value!r} is not an origin.")
    text = value.strip().rstrip("/").lower()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValidationError(f"{value!r} is not an origin.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValidationError(f"{value!r} is not an origin like https://www.example.com (no path).")
    if parts.username or parts.password or parts.fragment:
        raise ValidationError(f"{value!r} is not an origin like https://www.example.com.")
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def normalise_origins(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError("Expected a list of origins.")
    if len(value) > MAX_ORIGINS:
        raise ValidationError(f"At most {MAX_ORIGINS} origins.")
    origins: list[str] = []
    for item in value:
        origin = normalise_origin(item)
        if origin not in origins:
            origins.append(origin)
    return origins


def _new_key() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def create_web_form(*, definition: dict[str, Any], actor: Any) -> WebForm:
    """Store a new form from a validated definition (see ``DEFINITION_NAMES``)."""
    values = {name: definition[name] for name in DEFINITION_NAMES if name in definition}
    values.setdefault("fields", normalise_fields([]))
    values.setdefault("thank_you", DEFAULT_THANK_YOU)
    form = WebForm.objects.create(
        key=_new_key(),
        honeypot_field=HONEYPOT_FIELD,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **values,
    )
    record(actor=actor, action="webform.created", obj=form, data={"name": form.name})
    return form


@transaction.atomic
def update_web_form(*, form: WebForm, changes: dict[str, Any], actor: Any) -> WebForm:
    """Apply validated changes to a form; its key stays, so the snippets already pasted keep working."""
    names = [name for name in DEFINITION_NAMES if name in changes]
    for name in names:
        setattr(form, name, changes[name])
    form.save(update_fields=[*names, "updated_at"])
    record(actor=actor, action="webform.changed", obj=form, data={"fields": names})
    return form


@transaction.atomic
def delete_web_form(*, form: WebForm, actor: Any) -> None:
    """Delete a form; the leads and activities it brought in stay."""
    record(actor=actor, action="webform.deleted", obj=form, data={"name": form.name, "key": form.key})
    form.delete()
