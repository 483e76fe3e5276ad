from __future__ import annotations

import pytest

from leads.models import Lead
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/"


def test_creating_a_lead_answers_201_and_stores_the_email_lower_case(full_client):
    response = full_client.post(URL, {"email": "  Ann@Example.COM ", "first_name": "Ann"}, format="json")
    assert response.status_code == 201
    assert response.json()["email"] == "ann@example.com"
    assert Lead.objects.get().email == "ann@example.com"


def test_ingest_only_token_cannot_list_leads(ingest_client):
    assert ingest_client.post(URL, {"email": "a@example.com"}, format="json").status_code == 201
    response = ingest_client.get(URL)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_a_user_in_no_team_is_forbidden(nobody):
    response = client_for(nobody).get(URL)
    assert response.status_code == 403
