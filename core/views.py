from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.health import check_broker, check_database
from core.models import ApiToken, Scope
from core.tokens import issue_token, revoke_token


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “Website forms”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.INGEST]
    )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """``200 {"database": "ok", "broker": "ok"}``, or ``503`` naming what is down."""
    checks = {
        "database": "ok" if check_database() else "down",
        "broker": "ok" if check_broker() else "down",
    }
    status = 200 if all(value == "ok" for value in checks.values()) else 503
    return JsonResponse(checks, status=status)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens: create (the secret is shown once), see scopes and last use, revoke."""
    created_secret = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = issue_token(
            user=request.user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
        )
        created_secret = issued.secret
        form = TokenForm()
    return render(
        request,
        "core/tokens.html",
        {
            "form": form,
            "created_secret": created_secret,
            "tokens": ApiToken.objects.filter(user=request.user),
        },
    )


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke_token(token=token)
    messages.success(request, f"Token “{token.name}” was revoked.")
    return redirect("core:tokens")
