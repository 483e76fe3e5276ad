"""The web form pages at /forms/ (marketing, managers): define forms, copy the snippet, see what came in."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.pages import role_required
from core.roles import MANAGERS, MARKETING
from core.text import no_control_characters, no_control_characters_in_line
from leads.models import Activity, ActivityType, Campaign, Persona, WebForm
from leads.webforms import (
    DEFAULT_THANK_YOU,
    FORM_FIELDS,
    MAX_LABEL_LENGTH,
    create_web_form,
    delete_web_form,
    http_url,
    normalise_fields,
    normalise_origins,
    update_web_form,
)
from leads.webforms_html import public_path, snippet
from leads.webforms_report import conversion, form_lead_count, submissions_per_day

_TEXT_MAX = WebForm._meta.get_field("consent_text").max_length
# The page's settings inputs, in order (``active`` is a checkbox of its own).
SETTINGS_FIELDS = (
    "name",
    "campaign",
    "persona",
    "consent_text",
    "thank_you",
    "redirect_url",
    "allowed_origins",
)


class WebFormForm(forms.Form):
    """A form's definition on the page: one row per lead field (ask? required? label) and the settings."""

    name = forms.CharField(max_length=120, validators=[no_control_characters_in_line])
    campaign = forms.ModelChoiceField(
        Campaign.objects.all(), to_field_name="slug", required=False, empty_label="— none —"
    )
    persona = forms.ModelChoiceField(
        Persona.objects.all(), to_field_name="slug", required=False, empty_label="— none —"
    )
    consent_text = forms.CharField(
        label="Consent text",
        required=False,
        max_length=_TEXT_MAX,
        validators=[no_control_characters],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown beside a checkbox; a ticked box records the lead's consent. Empty: no checkbox.",
    )
    thank_you = forms.CharField(
        label="Thank-you message",
        required=False,
        max_length=_TEXT_MAX,
        initial=DEFAULT_THANK_YOU,
        validators=[no_control_characters],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    redirect_url = forms.CharField(
        label="Redirect to",
        required=False,
        max_length=500,
        validators=[no_control_characters_in_line, http_url],
        help_text="Optional: send people to this page instead of showing the thank-you message.",
    )
    allowed_origins = forms.CharField(
        label="Allowed origins",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://www.example.com"}),
        help_text="One per line: sites whose scripts may post to the form. Plain HTML forms need none.",
    )
    active = forms.BooleanField(required=False, initial=True, help_text="An inactive form takes nothing.")

    def __init__(self, *args: Any, instance: WebForm | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", self._initial(instance))
        super().__init__(*args, **kwargs)
        for name, field in FORM_FIELDS.items():
            if name != "email":
                self.fields[f"ask_{name}"] = forms.BooleanField(
                    required=False, label=f"Ask for {field.label}"
                )
                self.fields[f"required_{name}"] = forms.BooleanField(
                    required=False, label=f"{field.label} required"
                )
            self.fields[f"label_{name}"] = forms.CharField(
                required=False,
                max_length=MAX_LABEL_LENGTH,
                label=f"Label of {field.label}",
                widget=forms.TextInput(attrs={"placeholder": field.label}),
            )

    @staticmethod
    def _initial(form: WebForm) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": form.name,
            "campaign": form.campaign.slug if form.campaign else None,
            "persona": form.persona.slug if form.persona else None,
            "consent_text": form.consent_text,
            "thank_you": form.thank_you,
            "redirect_url": form.redirect_url,
            "allowed_origins": "\n".join(form.allowed_origins),
            "active": form.active,
        }
        for item in form.fields:
            name = item["name"]
            initial[f"ask_{name}"] = True
            initial[f"required_{name}"] = item["required"]
            field = FORM_FIELDS.get(name)
            if field is not None and item["label"] != field.label:
                initial[f"label_{name}"] = item["label"]
        return initial

    def settings_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in SETTINGS_FIELDS]

    def field_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "label": field.label,
                "ask": self[f"ask_{name}"] if name != "email" else None,
                "required": self[f"required_{name}"] if name != "email" else None,
                "text": self[f"label_{name}"],
            }
            for name, field in FORM_FIELDS.items()
        ]

    def clean_allowed_origins(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]
        return normalise_origins(lines)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [
            {
                "name": name,
                "required": bool(cleaned.get(f"required_{name}")),
                "label": cleaned.get(f"label_{name}") or "",
            }
            for name in FORM_FIELDS
            if name == "email" or cleaned.get(f"ask_{name}") or cleaned.get(f"required_{name}")
        ]
        try:
            cleaned["fields"] = normalise_fields(chosen)
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned

    def definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "fields": data["fields"],
            "campaign": data["campaign"],
            "persona": data["persona"],
            "consent_text": data["consent_text"],
            "thank_you": data["thank_you"],
            "redirect_url": data["redirect_url"],
            "allowed_origins": data["allowed_origins"],
            "active": data["active"],
        }


def _form_or_404(form_id: int) -> WebForm:
    form = WebForm.objects.select_related("campaign", "persona").filter(pk=form_id).first()
    if form is None:
        raise Http404("No such form.")
    return form


@role_required(MARKETING, MANAGERS)
@require_GET
def form_list(request: HttpRequest) -> HttpResponse:
    web_forms = list(WebForm.objects.select_related("campaign", "persona"))
    counts = dict(
        Activity.objects.filter(
            type=ActivityType.FORM_SUBMIT, metadata__form__in=[form.key for form in web_forms]
        )
        .values("metadata__form")
        .annotate(n=Count("id"))
        .values_list("metadata__form", "n")
    )
    rows = [{"form": form, "submissions": counts.get(form.key, 0)} for form in web_forms]
    return render(request, "leads/forms/list.html", {"rows": rows})


def _edit(request: HttpRequest, form: WebForm | None) -> HttpResponse:
    page_form = WebFormForm(request.POST or None, instance=form)
    if request.method == "POST" and page_form.is_valid():
        if form is None:
            form = create_web_form(definition=page_form.definition(), actor=request.user)
            messages.success(request, f"The form “{form.name}” is ready: copy its snippet below.")
        else:
            update_web_form(form=form, changes=page_form.definition(), actor=request.user)
            messages.success(request, f"The form “{form.name}” is saved.")
        return redirect("webforms:detail", form_id=form.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/forms/edit.html", {"form": page_form, "web_form": form}, status=status)


@role_required(MARKETING, MANAGERS)
@require_http_methods(["GET", "POST"])
def form_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@role_required(MARKETING, MANAGERS)
@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, form_id: int) -> HttpResponse:
    return _edit(request, _form_or_404(form_id))


@role_required(MARKETING, MANAGERS)
@require_GET
def form_detail(request: HttpRequest, form_id: int) -> HttpResponse:
    form = _form_or_404(form_id)
    leads = form_lead_count(form=form)
    days = submissions_per_day(form=form)
    context = {
        "web_form": form,
        "snippet": snippet(form, base_url=request.build_absolute_uri("/")),
        "hosted_url": request.build_absolute_uri(public_path(form)),
        "days": days,
        "busiest": max((day.submissions for day in days), default=0),
        "total_days": sum(day.submissions for day in days),
        "leads": leads,
        "conversion": conversion(form=form, leads=leads),
    }
    return render(request, "leads/forms/detail.html", context)


@role_required(MARKETING, MANAGERS)
@require_POST
def form_delete(request: HttpRequest, form_id: int) -> HttpResponse:
    form = _form_or_404(form_id)
    delete_web_form(form=form, actor=request.user)
    messages.success(request, f"The form “{form.name}” is deleted; its leads stay.")
    return redirect("webforms:list")
