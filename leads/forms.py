"""Forms of the leads app shared by pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django_countries import countries

from core.text import no_control_characters
from leads.fields import LEAD_FIELDS, MAX_COUNT, WRITABLE_FIELDS, Kind, LeadField
from leads.models import Campaign, Lead, Persona
from leads.schemas import validate_lead


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=5000,
        validators=[no_control_characters],
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What should the other team know?"}),
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise ValidationError("Write something first.")
        return body


# The fields a person edits on a page: every writable one but the free-form attributes.
FORM_FIELDS: tuple[LeadField, ...] = tuple(f for f in WRITABLE_FIELDS if f.kind is not Kind.JSON)
_BOOL_CHOICES = [("", "Unknown"), ("true", "Yes"), ("false", "No")]


def _form_field(field: LeadField) -> forms.Field:
    """The page's input for a lead field; the rules themselves are ``leads.schemas``'s, applied in clean()."""
    if field.kind is Kind.EMAIL:
        return forms.CharField(label=field.label, max_length=field.max_length)
    if field.kind is Kind.CHOICE and field.choices is not None:
        return forms.ChoiceField(
            label=field.label, required=False, choices=[("", "—"), *field.choices.choices]
        )
    if field.kind is Kind.BOOL:
        return forms.ChoiceField(label=field.label, required=False, choices=_BOOL_CHOICES)
    if field.kind is Kind.COUNT:
        return forms.IntegerField(label=field.label, required=False, min_value=1, max_value=MAX_COUNT)
    if field.kind is Kind.COUNTRY:
        return forms.ChoiceField(label=field.label, required=False, choices=[("", "—"), *countries])
    if field.kind is Kind.SLUG:
        return forms.ChoiceField(label=field.label, required=False, choices=[("", "—")])
    return forms.CharField(label=field.label, required=False, max_length=field.max_length)


def _initial(lead: Lead) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for field in FORM_FIELDS:
        value = getattr(lead, field.name)
        if field.kind is Kind.SLUG:
            value = value.slug if value is not None else ""
        elif field.kind is Kind.BOOL:
            value = "" if value is None else ("true" if value else "false")
        initial[field.name] = value
    return initial


class LeadForm(forms.Form):
    """A new lead, or changes to one (``lead``): the lead's fields, validated by ``leads.schemas``.

    After ``is_valid()``, ``payload`` holds what to send to ``create_lead`` or ``update_lead``: for a new
    lead the fields filled in, for an existing one only the fields changed.
    """

    def __init__(self, *args: Any, lead: Lead | None = None, **kwargs: Any) -> None:
        self.lead = lead
        if lead is not None:
            kwargs.setdefault("initial", _initial(lead))
        super().__init__(*args, **kwargs)
        for field in FORM_FIELDS:
            self.fields[field.name] = _form_field(field)
        self.fields["persona"].choices = [("", "—"), *Persona.objects.values_list("slug", "name")]
        self.fields["campaign"].choices = [("", "—"), *Campaign.objects.values_list("slug", "name")]
        self.payload: dict[str, Any] = {}

    def _value(self, field: LeadField) -> Any:
        value = self.cleaned_data.get(field.name)
        if field.kind is Kind.BOOL:
            return {"true": True, "false": False}.get(value)
        if field.kind in (Kind.CHOICE, Kind.SLUG) and not value:
            return None
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.lead is None:
            names = [f.name for f in FORM_FIELDS if self._value(f) not in (None, "")]
        else:
            names = [name for name in self.changed_data if name in LEAD_FIELDS]
        data = {name: self._value(LEAD_FIELDS[name]) for name in names}
        validated, errors = validate_lead(data, partial=self.lead is not None)
        for name, messages in errors.items():
            self.add_error(name if name in self.fields else None, messages)
        self.payload = validated or {}
        return cleaned
