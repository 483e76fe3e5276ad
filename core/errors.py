"""Every API error is ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


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


class ValidationProblem(exceptions.APIException):
    """A 400 with field messages, raised by domain-facing validation that is not a DRF serializer."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is not valid."

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail or self.default_detail)
        self.errors = errors


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "The request body is larger than 10 MiB.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, ValidationProblem):
        return problem_response(400, str(exc.detail), exc.errors)
    response = exception_handler(exc, context)
    if response is None:
        return None
    headers = {k: v for k, v in response.headers.items() if k in {"Retry-After", "WWW-Authenticate", "Allow"}}
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(400, "The request is not valid.", flatten_errors(exc.detail), headers=headers)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict | list):
        return problem_response(response.status_code, "The request is not valid.", flatten_errors(detail))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    return problem_response(response.status_code, str(detail), headers=headers)
