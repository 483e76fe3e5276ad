"""The webhooks page (managers): endpoints, their events, the delivery log, and sending again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import AppError
from core.keyset import paginate
from core.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEventType
from core.pages import role_required, show_error
from core.roles import MANAGERS
from core.webhook_delivery import redeliver
from core.webhooks import URL_MAX_LENGTH, create_endpoint, delete_endpoint, update_endpoint

DELIVERY_PAGE_SIZE = 50


class EndpointForm(forms.Form):
    url = forms.URLField(
        max_length=URL_MAX_LENGTH,
        label="URL",
        assume_scheme="https",
        help_text="Where events are POSTed (http or https). Private and loopback addresses are refused.",
    )
    events = forms.MultipleChoiceField(choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False, initial=True)


def _apply(form: EndpointForm, error: AppError) -> None:
    for field, field_messages in (error.errors or {"__all__": [error.detail]}).items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


@never_cache  # the page may carry a new secret: never keep it in a cache
@role_required(MANAGERS)
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    """Every endpoint, and a form to register one (its signing secret is shown once)."""
    form = EndpointForm(request.POST or None)
    created: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = create_endpoint(
                actor=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                active=form.cleaned_data["active"],
            )
        except AppError as error:
            _apply(form, error)
        else:
            created = {"endpoint": endpoint, "secret": secret}
            form = EndpointForm()
    endpoints = WebhookEndpoint.objects.order_by("-created_at", "-id")
    return render(
        request,
        "core/webhooks.html",
        {"form": form, "created": created, "endpoints": endpoints, "labels": dict(WebhookEventType.choices)},
        status=400 if request.method == "POST" and created is None else 200,
    )


@role_required(MANAGERS)
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """One endpoint: change its URL, events and whether it is active; its delivery log, newest first."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    initial = {"url": endpoint.url, "events": endpoint.events, "active": endpoint.active}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_endpoint(endpoint=endpoint, actor=request.user, fields=dict(form.cleaned_data))
        except AppError as error:
            _apply(form, error)
        else:
            messages.success(request, "The endpoint was saved.")
            return redirect("core:webhook", endpoint_id=endpoint.pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-at", "-id")))
    )
    page = paginate(
        deliveries, key="id", descending=True, cursor=request.GET.get("cursor"), page_size=DELIVERY_PAGE_SIZE
    )
    return render(
        request,
        "core/webhook_detail.html",
        {"endpoint": endpoint, "form": form, "page": page, "deliveries": page.rows},
        status=400 if request.method == "POST" else 200,
    )


@role_required(MANAGERS)
@require_POST
def webhook_redeliver(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint_id=endpoint_id)
    try:
        redeliver(delivery=delivery, actor=request.user)
    except AppError as error:
        show_error(request, error)
    else:
        messages.success(request, f"Delivery {delivery.pk} will be sent again in a moment.")
    return redirect("core:webhook", endpoint_id=endpoint_id)


@role_required(MANAGERS)
@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    delete_endpoint(endpoint=endpoint, actor=request.user)
    messages.success(request, f"The endpoint {endpoint.url} was removed.")
    return redirect("core:webhooks")
