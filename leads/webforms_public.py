"""The public side of web forms, at ``/f/<key>/``: the hosted page, submissions, and CORS.

No login and no CSRF cookie: any website may post a pasted snippet here (``leads.webforms_submit`` holds
the guards that stand in). Answers never say anything about the lead stored: the thank-you page, a ``303``
to the form's ``redirect_url``, or ``{"status": "ok"}`` for JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import PROBLEM_CONTENT_TYPE, ValidationProblem, problem_body
from leads.models import WebForm
from leads.webforms_html import form_context, public_path
from leads.webforms_submit import submit_web_form, take_submission_slot

TOO_MANY = "Too many submissions from your address; please try again in a minute."


def with_cors(response: HttpResponse, *, origin: str | None, allowed: list[str], preflight: bool) -> None:
    """CORS headers for exactly the form's allowed origins; other origins get none (the browser blocks)."""
    patch_vary_headers(response, ["Origin"])
    if not origin or origin.lower() not in allowed:
        return
    response["Access-Control-Allow-Origin"] = origin
    if preflight:
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"


def _problem(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> JsonResponse:
    return JsonResponse(
        problem_body(status, detail, errors), status=status, content_type=PROBLEM_CONTENT_TYPE
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body, parse_constant=_refuse_constant)
        # TRICKY: JSON may spell lone surrogates ("\ud800"), which no database can store as text.
        json.dumps(data, ensure_ascii=False).encode()
    except (ValueError, RecursionError, UnicodeError):
        raise ValidationProblem({"non_field_errors": ["The body is not valid JSON."]}) from None
    if not isinstance(data, dict):
        raise ValidationProblem({"non_field_errors": ["Expected a JSON object."]})
    return data


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _hosted_page(
    request: HttpRequest,
    form: WebForm,
    *,
    status: int = 200,
    notice: str = "",
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> HttpResponse:
    context = form_context(form, action=public_path(form), inline_styles=False, values=values, errors=errors)
    response = render(request, "leads/forms/hosted.html", {**context, "notice": notice}, status=status)
    add_never_cache_headers(response)  # the signed start time must be fresh
    if form.redirect_url:
        # Browsers hold a form's redirect to form-action too: let the page's form lead to the redirect.
        parts = urlsplit(form.redirect_url)
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}  # type: ignore[attr-defined]
    return response


def _submit(request: HttpRequest, form: WebForm, *, is_json: bool) -> HttpResponse:
    retry_after = take_submission_slot(address=_client_address(request))
    if retry_after is not None:
        response = (
            _problem(429, TOO_MANY) if is_json else _hosted_page(request, form, status=429, notice=TOO_MANY)
        )
        response["Retry-After"] = str(retry_after)
        return response
    try:
        data = _json_body(request) if is_json else request.POST
        # Stored or discarded (a bot's), the answer is the same: a bot learns nothing from it.
        submit_web_form(form=form, data=data, strict=is_json)
    except ValidationProblem as exc:
        if is_json:
            return _problem(400, exc.detail, exc.errors)
        return _hosted_page(request, form, status=400, values=request.POST, errors=exc.errors or {})
    if is_json:
        return JsonResponse({"status": "ok"})
    if form.redirect_url:
        redirect = HttpResponseRedirect(form.redirect_url)
        redirect.status_code = 303
        return redirect
    return render(request, "leads/forms/thanks.html", {"web_form": form})


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST", "OPTIONS"])
def public_form(request: HttpRequest, key: str) -> HttpResponse:
    is_json = request.content_type == "application/json"
    form = WebForm.objects.select_related("campaign", "persona").filter(key=key, active=True).first()
    if form is None:
        if is_json:
            return _problem(404, "No such form.")
        raise Http404("No such form.")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    elif request.method == "POST":
        response = _submit(request, form, is_json=is_json)
    else:
        response = _hosted_page(request, form)
    with_cors(
        response,
        origin=request.headers.get("Origin"),
        allowed=form.allowed_origins,
        preflight=request.method == "OPTIONS",
    )
    return response
