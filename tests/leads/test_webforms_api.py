"""The web form API: /api/v1/forms/ for marketing and managers."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from leads.models import WebForm
from tests.conftest import client_for
from tests.factories import CampaignFactory, PersonaFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/forms/"


def definition(**changes):
    return {
        "name": "Demo request",
        "fields": [
            {"name": "first_name", "required": True, "label": "Your first name"},
            {"name": "company", "required": False, "label": ""},
        ],
        "thank_you": "Thanks, we will call you.",
        "allowed_origins": ["https://www.Example.com/", "http://shop.example.com:8080"],
        **changes,
    }


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_create_a_form_with_a_key_a_honeypot_and_a_snippet(request, who):
    campaign = CampaignFactory(slug="spring")
    persona = PersonaFactory(slug="ops")
    client = client_for(request.getfixturevalue(who))

    response = client.post(URL, definition(campaign="spring", persona="ops"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    form = WebForm.objects.get()
    assert body["id"] == form.pk
    assert body["key"] == form.key
    assert len(form.key) >= 16
    assert body["honeypot_field"] == "website"
    # E-mail is always there, first and required; an empty label becomes the field's own.
    assert body["fields"] == [
        {"name": "email", "required": True, "label": "E-mail"},
        {"name": "first_name", "required": True, "label": "Your first name"},
        {"name": "company", "required": False, "label": "Company"},
    ]
    assert body["allowed_origins"] == ["https://www.example.com", "http://shop.example.com:8080"]
    assert (form.campaign, form.persona) == (campaign, persona)
    assert body["campaign"] == "spring"
    assert body["persona"] == "ops"
    assert body["active"] is True
    assert f'<form method="post" action="http://testserver/f/{form.key}/"' in body["snippet"]
    assert 'name="website"' in body["snippet"]
    assert 'name="form_started"' in body["snippet"]
    assert AuditEvent.objects.filter(action="webform.created", object_id=str(form.pk)).exists()


def test_sales_may_not_read_or_write_forms(rep):
    client = client_for(rep)
    assert client.get(URL).status_code == 403
    assert client.post(URL, definition(), format="json").status_code == 403
    assert not WebForm.objects.exists()


def test_anonymous_clients_are_refused(anonymous):
    assert anonymous.get(URL).status_code == 401


def test_an_unknown_field_is_a_400_naming_it(marketer):
    response = client_for(marketer).post(URL, definition(colour="blue"), format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"colour": ["Unknown field."]}
    assert not WebForm.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fields": [{"name": "score", "required": False}]}, "fields.0.name"),
        ({"fields": [{"name": "company", "colour": "red"}]}, "fields.0.colour"),
        ({"fields": [{"name": "company"}, {"name": "company"}]}, "fields"),
        ({"allowed_origins": ["https://example.com/path"]}, "allowed_origins"),
        ({"allowed_origins": ["ftp://example.com"]}, "allowed_origins"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"campaign": "no-such-campaign"}, "campaign"),
        ({"name": "bad\x00name"}, "name"),
        ({"key": "mine"}, "key"),
    ],
)
def test_bad_definitions_are_a_400_naming_the_field(marketer, changes, field):
    response = client_for(marketer).post(URL, definition(**changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_list_read_change_and_delete(marketer):
    client = client_for(marketer)
    first = client.post(URL, definition(name="First"), format="json").json()
    second = client.post(URL, definition(name="Second"), format="json").json()

    listed = client.get(URL).json()
    assert [item["name"] for item in listed["results"]] == ["Second", "First"]
    assert listed["next"] is None

    assert client.get(f"{URL}{first['id']}/").json()["name"] == "First"

    changed = client.patch(
        f"{URL}{first['id']}/",
        {"active": False, "fields": [{"name": "phone", "required": True, "label": "Phone"}]},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    form = WebForm.objects.get(pk=first["id"])
    assert form.active is False
    assert form.key == first["key"], "a change keeps the key, so pasted snippets keep working"
    assert [item["name"] for item in form.fields] == ["email", "phone"]
    assert form.name == "First"

    assert client.delete(f"{URL}{second['id']}/").status_code == 204
    assert list(WebForm.objects.values_list("name", flat=True)) == ["First"]


def test_a_read_only_field_in_a_change_is_a_400(marketer):
    client = client_for(marketer)
    created = client.post(URL, definition(), format="json").json()
    response = client.patch(f"{URL}{created['id']}/", {"honeypot_field": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"honeypot_field": ["This field is read-only."]}


def test_the_schema_describes_the_forms_api(marketer):
    schema = client_for(marketer).get("/api/schema/?format=json").json()
    assert {"/api/v1/forms/", "/api/v1/forms/{id}/"} <= set(schema["paths"])
    properties = schema["components"]["schemas"]["WebForm"]["properties"]
    assert {"key", "honeypot_field", "snippet", "allowed_origins", "fields"} <= set(properties)
