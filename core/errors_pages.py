"""Error handlers: problem+json under /api/, the usual pages elsewhere."""

from __future__ import annotations

import sys
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

from core.errors import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    problem_json_response,
    release_lost_database_connection,
)


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


def database_unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A lost database connection: ``503`` with ``Retry-After``, the problem body or the page that says so.

    The page is rendered without a request context: the context processors (the user, unread
    notifications) would go back to the database that just failed.
    """
    release_lost_database_connection(exception)
    if _is_api(request):
        response: HttpResponse = problem_json_response(
            503, "The database is briefly unavailable; retry the request."
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    # TRICKY: Django calls this inside its own ``except`` block and passes the request alone, so the
    # exception is read from ``sys.exc_info()``. Views reach ``database_unavailable`` through
    # ``AppErrorMiddleware``; this catches a connection lost in a middleware (saving the session).
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_ERRORS):
        return database_unavailable(request, exception)
    if _is_api(request):
        return problem_json_response(500, "Something went wrong on our side; it has been logged.")
    return defaults.server_error(request)
