"""What a web form looks like in HTML: its inputs, and the snippet marketers paste into any website.

The hosted page (``/f/<key>/``) and the snippet render the same template; the snippet hides the honeypot with
an inline style (the embedding site has none of our stylesheets), the hosted page with a class from ours
(our Content-Security-Policy refuses inline styles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django_countries import countries

from leads.fields import Kind
from leads.models import WebForm
from leads.webforms import FORM_FIELDS
from leads.webforms_submit import CONSENT_FIELD, STARTED_FIELD, started_token

_INPUT_TYPES = {Kind.EMAIL: "email", Kind.COUNT: "number", Kind.BOOL: "checkbox"}


@dataclass(frozen=True)
class FormInput:
    name: str
    label: str
    required: bool
    type: str  # an <input> type, or "select"
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None


def form_inputs(form: WebForm) -> list[FormInput]:
    """The inputs of the form, in its order; the consent checkbox last when the form has a consent text."""
    inputs = []
    for item in form.fields:
        field = FORM_FIELDS.get(item["name"])
        if field is None:  # a lead field no longer offered to forms
            continue
        choices: tuple[tuple[str, str], ...] = ()
        kind = "select" if field.kind in (Kind.CHOICE, Kind.COUNTRY) else _INPUT_TYPES.get(field.kind, "text")
        if field.kind is Kind.CHOICE and field.choices is not None:
            choices = tuple(field.choices.choices)
        elif field.kind is Kind.COUNTRY:
            choices = tuple((code, str(name)) for code, name in countries)
        label = form.consent_text if field.name == CONSENT_FIELD and form.consent_text else item["label"]
        inputs.append(
            FormInput(
                name=field.name,
                label=label,
                required=item["required"],
                type=kind,
                choices=choices,
                max_length=field.max_length if kind in ("text", "email") else None,
            )
        )
    if form.consent_text and all(i.name != CONSENT_FIELD for i in inputs):
        inputs.append(FormInput(name=CONSENT_FIELD, label=form.consent_text, required=False, type="checkbox"))
    return inputs


def form_context(
    form: WebForm,
    *,
    action: str,
    inline_styles: bool,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> dict[str, object]:
    """What ``leads/forms/_form.html`` needs to render the form posting to ``action``.

    ``values`` and ``errors`` show a submission again with what was wrong with it.
    """
    values = values or {}
    errors = errors or {}
    rows: list[dict[str, Any]] = [
        {"input": item, "value": str(values.get(item.name) or ""), "errors": errors.get(item.name, [])}
        for item in form_inputs(form)
    ]
    names = {item["input"].name for item in rows}
    return {
        "web_form": form,
        "rows": rows,
        # Messages that belong to no input of the form (a stale form, an unknown field).
        "form_errors": [
            message for name, messages in errors.items() if name not in names for message in messages
        ],
        "action": action,
        "inline_styles": inline_styles,
        "started_field": STARTED_FIELD,
        "started": started_token(form=form),
    }


def public_path(form: WebForm) -> str:
    return reverse("webforms-public:form", kwargs={"key": form.key})


def snippet(form: WebForm, *, base_url: str) -> str:
    """The HTML to paste into a website: a plain form posting to ``base_url`` + ``/f/<key>/``, no script."""
    action = base_url.rstrip("/") + public_path(form)
    return render_to_string("leads/forms/_form.html", form_context(form, action=action, inline_styles=True))
