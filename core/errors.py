"""Every API error is ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Seconds a client is asked to wait when the database dropped its connection (it reconnects at once).
DATABASE_RETRY_AFTER_SECONDS = 2

logger = logging.getLogger(__name__)


def problem_body(status_code: int, detail: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    title = HTTPStatus(status_code).phrase
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.io/{status_code}" if status_code else "about:blank",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    status_code: int, detail: str, errors: dict[str, list[str]] | None = None, headers: dict | None = None
) -> Response:
    return Response(
        problem_body(status_code, detail, errors),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def problem_json_response(status_code: int, detail: str) -> JsonResponse:
    """The same body for plain Django responses (middleware, 404/500 handlers)."""
    return JsonResponse(
        problem_body(status_code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"field": [message, …]}`` (nested fields joined with dots)."""
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            for field, messages in flatten_errors(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            out[prefix or "non_field_errors"] = [str(item) for item in data]
        else:
            for index, item in enumerate(data):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(data)]
    return out


class AppError(Exception):
    """The one error type domain code raises: a message for people, a kind that decides the status code,
    and field messages for invalid input. The API maps it to problem+json (``problem_exception_handler``),
    pages to a message or an error page (``core.pages``); domain code never raises DRF's exceptions.
    """

    status_code = 400
    default_detail = "The request is not valid."

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.errors = errors
        super().__init__(self.detail)

    def messages(self) -> list[str]:
        """Every message, for a page: the field messages, or the detail when there are none."""
        if self.errors:
            return [message for messages in self.errors.values() for message in messages]
        return [self.detail]


class ValidationProblem(AppError):
    """Invalid input: a 400 with field messages."""

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail, errors=errors)


class Forbidden(AppError):
    status_code = 403
    default_detail = "You do not have permission to do this."


class NotFound(AppError):
    status_code = 404
    default_detail = "Not found."


class Conflict(AppError):
    status_code = 409
    default_detail = "The request conflicts with the current state."


class Unprocessable(AppError):
    status_code = 422
    default_detail = "The request cannot be processed."


DATABASE_ERRORS = (OperationalError, InterfaceError)


def release_lost_database_connection(exc: Exception) -> None:
    """A lost database connection (a restart, a failover, ``pg_terminate_backend``) is a ``503``.

    The request's transaction was rolled back, so a retry is safe. The broken connection is closed here
    so that what still runs in this request (releasing an ``Idempotency-Key``, rendering the error page)
    and the next request connect afresh (``CONN_HEALTH_CHECKS`` covers connections that broke while idle).
    The API (``database_unavailable``) and the pages (``core.errors_pages``) both call this.
    """
    logger.warning("database unavailable, answering 503: %r", exc)
    if not connection.in_atomic_block:
        try:
            connection.close_if_unusable_or_obsolete()
        except Exception:
            logger.warning("could not close the broken database connection", exc_info=True)


def database_unavailable(exc: Exception) -> Response:
    release_lost_database_connection(exc)
    return problem_response(
        503,
        "The database is briefly unavailable; retry the request.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(exc)
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "The request body is larger than 10 MiB.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, AppError):
        return problem_response(exc.status_code, exc.detail, exc.errors)
    response = exception_handler(exc, context)
    if response is None:
        return None
    headers = {k: v for k, v in response.headers.items() if k in {"Retry-After", "WWW-Authenticate", "Allow"}}
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(400, "The request is not valid.", flatten_errors(exc.detail), headers=headers)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict | list):
        return problem_response(response.status_code, "The request is not valid.", flatten_errors(detail))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:  # type: ignore[attr-defined]  # the stubs omit Throttled.wait
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))  # type: ignore[attr-defined]  # as above
    return problem_response(response.status_code, str(detail), headers=headers)
