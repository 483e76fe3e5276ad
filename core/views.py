from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.audit_trail import audit_events
from core.audit_wording import sentences
from core.csv_export import csv_response, wants_csv
from core.keyset import paginate
from core.login_throttle import LOCKED_MESSAGE, client_address, is_locked, record_failure, record_success
from core.models import ApiToken, EmailPreference, Scope
from core.notification_emails import email_preference, set_email_preference
from core.notifications import mark_all_read, mark_read, notifications_for
from core.pages import role_required
from core.roles import MANAGERS
from core.tokens import issue_token, revoke_token

AUDIT_PAGE_SIZE = 50
_FIRST_DAY = dt.date(2000, 1, 1)
_LAST_DAY = dt.date(2099, 12, 31)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “Website forms”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.INGEST]
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(max_length=64, required=False, label="Action starts with")
    actor = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone")
    since = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[MinValueValidator(_FIRST_DAY), MaxValueValidator(_LAST_DAY)],
    )
    until = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[MinValueValidator(_FIRST_DAY), MaxValueValidator(_LAST_DAY)],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = get_user_model().objects.order_by("username")
        self.fields["actor"].label_from_instance = lambda user: user.get_full_name() or user.username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise ValidationError("“From” must not be after “To”.")
        return cleaned


@never_cache  # the page may carry a new secret: never keep it in a cache
@role_required()
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens: create (the secret is shown once), see scopes and last use, revoke."""
    created = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = issue_token(
            user=request.user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
        )
        form = TokenForm()
    return render(
        request,
        "core/tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": ApiToken.objects.filter(user=request.user),
        },
        status=400 if request.method == "POST" and created is None else 200,
    )


@role_required()
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke_token(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” was revoked; clients using it now get 401.")
    return redirect("core:tokens")


def _audit_csv(events: Any) -> HttpResponse:
    def rows() -> Any:
        chunk: list[Any] = []
        for event in events.order_by("-at", "-id").iterator(chunk_size=2000):
            chunk.append(event)
            if len(chunk) == 2000:
                yield from _audit_csv_rows(chunk)
                chunk = []
        yield from _audit_csv_rows(chunk)

    return csv_response(
        "audit.csv",
        ["at", "actor", "action", "object_type", "object_id", "object", "what", "data"],
        rows(),
    )


def _audit_csv_rows(events: list[Any]) -> Any:
    for s in sentences(events):
        event = s.event
        yield [
            event.at.isoformat(),
            event.actor.username if event.actor else "",
            event.action,
            event.object_type,
            event.object_id,
            event.object_label,
            " ".join(part for part in (s.actor or "The system", s.verb, s.noun, s.label, s.details) if part),
            json.dumps(event.data, sort_keys=True, ensure_ascii=False) if event.data else "",
        ]


@role_required(MANAGERS)
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    """The audit trail for managers: filter by action, actor and days; keyset pages; CSV download."""
    form = AuditFilterForm(request.GET)
    valid = form.is_valid()
    page = None
    if valid:
        events = audit_events(
            action=form.cleaned_data["action"].strip(),
            actor_id=form.cleaned_data["actor"].pk if form.cleaned_data["actor"] else None,
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
        )
        if wants_csv(request):
            return _audit_csv(events)
        page = paginate(
            events, key="at", descending=True, cursor=request.GET.get("cursor"), page_size=AUDIT_PAGE_SIZE
        )
    events = page.rows if page else []
    context = {"form": form, "page": page, "events": events, "sentences": sentences(events)}
    partial = request.htmx and not request.htmx.history_restore_request
    template = "core/_audit_results.html" if partial else "core/audit.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


class EmailPreferenceForm(forms.Form):
    email = forms.ChoiceField(
        choices=EmailPreference.choices, widget=forms.RadioSelect, label="E-mail me my alerts"
    )


@never_cache
@role_required()
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's own alerts, unread first, and how they come by e-mail.

    POST ``read=<id>`` marks one read, ``all=1`` (or nothing) marks all read, ``email=…`` sets the e-mail
    preference.
    """
    prefs = EmailPreferenceForm(initial={"email": email_preference(request.user)})
    if request.method == "POST":
        if "email" in request.POST:
            prefs = EmailPreferenceForm(request.POST)
            if prefs.is_valid():
                set_email_preference(user=request.user, email=prefs.cleaned_data["email"])
                messages.success(request, "Your e-mail preference is saved.")
                return redirect("core:notifications")
        else:
            read = request.POST.get("read", "")
            if read.isascii() and read.isdigit():
                marked = mark_read(user=request.user, ids=[int(read)])
            else:
                marked = mark_all_read(user=request.user)
            messages.success(request, f"Marked {marked} alert{'s' if marked != 1 else ''} as read.")
            return redirect("core:notifications")
    items = list(notifications_for(request.user))
    unread = sum(1 for item in items if item.read_at is None)
    return render(
        request,
        "core/notifications.html",
        {"notifications": items, "unread": unread, "prefs": prefs},
        status=400 if request.method == "POST" else 200,
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing every attempt while the account or the address is locked
    (``core.login_throttle``), even one with the right password."""

    throttled = False

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        if is_locked(username=username, address=address):
            self.throttled = True
            raise ValidationError(LOCKED_MESSAGE, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(username=username, address=address)
            raise
        record_success(username=username)
        return cleaned


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm
