"""Helpers for server-rendered pages: role checks that match the API's, and how a page shows an error."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core.errors import AppError
from core.roles import ROLES, has_role


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Anonymous visitors go to the login page; a signed-in user without one of ``roles`` gets 403."""
    allowed = roles or ROLES

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def error_text(error: AppError) -> str:
    """What a page says about an application error: its messages in one line."""
    return " ".join(error.messages())


def show_error(request: HttpRequest, error: AppError) -> None:
    """Show an application error as a message on the next page."""
    messages.error(request, error_text(error))
