from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core import errors_pages
from core.errors import DATABASE_ERRORS, AppError, problem_json_response
from core.health import healthz


class RequestSizeLimitMiddleware:
    """Answer ``413`` before reading a body declared larger than ``MAX_REQUEST_BODY_BYTES``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_json_response(400, "The Content-Length header is not a number.")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return problem_json_response(413, "The request body is larger than 10 MiB.")
        return self.get_response(request)


class AppErrorMiddleware:
    """An application error that a page did not turn into a message gets the error page of its status,
    and a lost database connection the ``503`` page (the API maps its own, in
    ``core.errors.problem_exception_handler``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            return errors_pages.database_unavailable(request, exception)
        if not isinstance(exception, AppError):
            return None
        if exception.status_code == 403:
            return errors_pages.permission_denied(request, exception)
        if exception.status_code == 404:
            return errors_pages.page_not_found(request, exception)
        response = errors_pages.bad_request(request, exception)
        response.status_code = exception.status_code
        return response


class HealthCheckMiddleware:
    """Answer ``/healthz`` before anything reads the Host header.

    TRICKY: container and load-balancer health checks call the server by its address (``localhost``,
    a pod IP), which is rightly not in ``ALLOWED_HOSTS``; every later middleware would refuse them with
    DisallowedHost. The health answer carries nothing a forged Host could abuse.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
