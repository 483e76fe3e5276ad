"""One error mapping: a domain error is problem+json in the API and the error page of its status on pages."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable, ValidationProblem
from core.pages import error_text

ERRORS: dict[str, AppError] = {
    "forbidden": Forbidden("Only the lead's owner may do this."),
    "not-found": NotFound(),
    "conflict": Conflict("The lead is no longer waiting."),
    "unprocessable": Unprocessable("This key was used with another body."),
    "invalid": ValidationProblem({"stage": ["Unknown stage 'x'."], "amount": ["Must be 0 or more."]}),
}


def _domain_operation(kind: str) -> None:
    """Stands for any domain function: it knows nothing of HTTP and raises an application error."""
    raise ERRORS[kind]


class RaisingApiView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request: Request, kind: str) -> Response:
        _domain_operation(kind)
        return Response({})


def raising_page(request: HttpRequest, kind: str) -> HttpResponse:
    _domain_operation(kind)
    return HttpResponse("unreachable")


urlpatterns = [
    path("api/v1/test-errors/<str:kind>/", RaisingApiView.as_view()),
    path("test-errors/<str:kind>/", raising_page),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.mark.parametrize(
    ("kind", "status", "detail", "errors"),
    [
        ("forbidden", 403, "Only the lead's owner may do this.", None),
        ("not-found", 404, "Not found.", None),
        ("conflict", 409, "The lead is no longer waiting.", None),
        ("unprocessable", 422, "This key was used with another body.", None),
        (
            "invalid",
            400,
            "The request is not valid.",
            {"stage": ["Unknown stage 'x'."], "amount": ["Must be 0 or more."]},
        ),
    ],
)
def test_a_domain_error_in_an_api_view_is_problem_json_with_its_status(client, kind, status, detail, errors):
    response = client.post(f"/api/v1/test-errors/{kind}/")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] == response.reason_phrase
    assert body["detail"] == detail
    assert body.get("errors") == errors
    assert ("errors" in body) == (errors is not None)


@pytest.mark.parametrize(
    ("kind", "status"),
    [("forbidden", 403), ("not-found", 404), ("conflict", 409), ("unprocessable", 422), ("invalid", 400)],
)
def test_a_domain_error_in_a_page_is_the_error_page_of_its_status(client, kind, status):
    response = client.get(f"/test-errors/{kind}/")
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")


def test_a_page_tells_people_the_field_messages_or_else_the_detail():
    assert error_text(ERRORS["invalid"]) == "Unknown stage 'x'. Must be 0 or more."
    assert error_text(ERRORS["conflict"]) == "The lead is no longer waiting."
