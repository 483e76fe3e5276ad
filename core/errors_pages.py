"""Error handlers: problem+json under /api/, the usual pages elsewhere."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from core.errors import problem_json_response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Any) -> HttpResponse:
    if _is_api(request):
        return problem_json_response(400, "The request is not valid.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Any) -> HttpResponse:
    if _is_api(request):
        return problem_json_response(403, "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Any) -> HttpResponse:
    if _is_api(request):
        return problem_json_response(404, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem_json_response(500, "Something went wrong on our side; it has been logged.")
    return defaults.server_error(request)
