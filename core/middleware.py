from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.errors import problem_json_response


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
