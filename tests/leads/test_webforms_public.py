"""The public web form at /f/<key>/: hosted page, submissions, bots, rate limit and CORS."""

from __future__ import annotations

import json
import time

import pytest
from django.core.cache import cache
from django.test import Client

from leads.models import Activity, Lead, WebForm
from leads.webforms import create_web_form, normalise_fields
from leads.webforms_submit import started_token
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

ORIGIN = "https://www.example.com"


@pytest.fixture
def web_form(marketer) -> WebForm:
    form = create_web_form(
        definition={
            "name": "Demo request",
            "fields": normalise_fields(
                [
                    {"name": "first_name", "required": True, "label": "First name"},
                    {"name": "company_size", "required": False, "label": "Employees"},
                    {"name": "seniority", "required": False, "label": "Seniority"},
                ]
            ),
            "campaign": CampaignFactory(slug="spring"),
            "consent_text": "You may e-mail me about the product.",
            "thank_you": "Thanks, we will call you soon.",
            "allowed_origins": [ORIGIN],
        },
        actor=marketer,
    )
    return WebForm.objects.select_related("campaign").get(pk=form.pk)


def filled(form: WebForm, **fields) -> dict[str, str]:
    """A submission as a person sends it: the honeypot empty, the form handed out ten seconds ago."""
    return {
        "email": "Ada@Example.com",
        "first_name": "Ada",
        "company_size": "120",
        "seniority": "director",
        "consent": "true",
        "website": "",
        "form_started": started_token(form=form, at=time.time() - 10),
        **fields,
    }


def url(form: WebForm) -> str:
    return f"/f/{form.key}/"


def post_json(client, form: WebForm, body, **headers):
    return client.post(url(form), json.dumps(body), content_type="application/json", **headers)


def test_a_form_post_stores_the_lead_and_its_activity_and_shows_the_thank_you_page(
    client, web_form, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url(web_form), filled(web_form))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Thanks, we will call you soon." in page
    assert "ada@example.com" not in page.lower(), "the answer says nothing stored"
    assert "Ada" not in page
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company_size, lead.seniority, lead.consent) == (
        "ada@example.com",
        "Ada",
        120,
        "director",
        True,
    )
    assert lead.campaign.slug == "spring"
    activity = Activity.objects.get()
    assert (activity.lead_id, activity.type, activity.metadata) == (
        lead.pk,
        "form_submit",
        {"form": web_form.key},
    )
    assert callbacks, "the new lead and activity are rescored once they commit"


def test_a_second_submission_updates_the_same_lead_and_adds_an_activity(client, web_form):
    LeadFactory(email="ada@example.com", first_name="A.", company="Engines Ltd")
    response = client.post(url(web_form), filled(web_form, first_name="Ada"))
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company) == ("Ada", "Engines Ltd"), "fields sent overwrite, absent stay"
    assert Activity.objects.filter(lead=lead, type="form_submit").count() == 1


def test_a_form_with_a_redirect_answers_303_to_it(client, web_form):
    WebForm.objects.filter(pk=web_form.pk).update(redirect_url="https://www.example.com/thanks")
    response = client.post(url(web_form), filled(web_form))
    assert response.status_code == 303
    assert response["Location"] == "https://www.example.com/thanks"
    assert Lead.objects.count() == 1


def test_json_submissions_answer_only_ok(client, web_form):
    response = post_json(client, web_form, filled(web_form) | {"company_size": 120})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert Lead.objects.get().company_size == 120
    assert Activity.objects.filter(type="form_submit").count() == 1


def test_a_filled_honeypot_is_answered_like_a_success_and_stores_nothing(client, web_form):
    response = client.post(url(web_form), filled(web_form, website="http://spam.example"))
    assert response.status_code == 200
    assert "Thanks, we will call you soon." in response.content.decode()
    json_response = post_json(client, web_form, filled(web_form, website="http://spam.example"))
    assert json_response.json() == {"status": "ok"}
    assert not Lead.objects.exists()
    assert not Activity.objects.exists()


def test_a_form_sent_back_faster_than_a_person_fills_it_stores_nothing(client, web_form):
    response = client.post(url(web_form), filled(web_form, form_started=started_token(form=web_form)))
    assert response.status_code == 200
    assert not Lead.objects.exists()


@pytest.mark.parametrize("started", [None, "12345", "12345:forged"])
def test_a_missing_or_forged_start_time_shows_the_form_again(client, web_form, started):
    data = filled(web_form)
    if started is None:
        del data["form_started"]
    else:
        data["form_started"] = started
    response = client.post(url(web_form), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "out of date" in page
    assert 'name="form_started" value="' in page, "a fresh start time comes with the form"
    assert not Lead.objects.exists()


def test_a_start_time_signed_for_another_form_is_refused(client, web_form, marketer):
    other = create_web_form(definition={"name": "Other"}, actor=marketer)
    response = client.post(url(web_form), filled(web_form, form_started=started_token(form=other, at=1)))
    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_bad_input_shows_the_form_again_with_messages_and_what_was_typed(client, web_form):
    response = client.post(
        url(web_form), filled(web_form, email="not-an-address", first_name="", company_size="many")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid e-mail address." in page
    assert "This field is required." in page
    assert 'value="not-an-address"' in page
    assert not Lead.objects.exists()
    assert not Activity.objects.exists()


def test_bad_json_input_is_a_400_problem(client, web_form):
    response = post_json(client, web_form, filled(web_form, email="nope", colour="blue"))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors == {"colour": ["Unknown field."], "email": ["Enter a valid e-mail address."]}
    response = post_json(client, web_form, filled(web_form, email="nope"))
    assert response.json()["errors"] == {"email": ["Enter a valid e-mail address."]}
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'{"email": NaN}', b"\xff\xfe", b'{"email": "\\ud800@x.com"}', b"[" * 5000 + b"]" * 5000],
)
def test_malformed_json_is_a_400_never_a_500(client, web_form, body):
    response = client.post(url(web_form), body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_form_posts_ignore_inputs_the_form_does_not_ask_for(client, web_form):
    response = client.post(url(web_form), filled(web_form, job_title="CEO", csrfmiddlewaretoken="x"))
    assert response.status_code == 200
    assert Lead.objects.get().job_title == ""


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_or_inactive_key_is_404(client, web_form, method):
    assert getattr(client, method)("/f/no-such-key/").status_code == 404
    WebForm.objects.filter(pk=web_form.pk).update(active=False)
    assert (
        getattr(client, method)(url(web_form), filled(web_form) if method == "post" else None).status_code
        == 404
    )
    assert post_json(client, web_form, filled(web_form)).status_code == 404
    assert not Lead.objects.exists()


def test_submissions_beyond_the_limit_per_address_are_429(client, web_form, settings):
    settings.WEBFORM_SUBMISSIONS_PER_MINUTE = 2
    for n in range(2):
        assert client.post(url(web_form), filled(web_form, email=f"p{n}@example.com")).status_code == 200
    response = client.post(url(web_form), filled(web_form, email="p3@example.com"))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    json_response = post_json(client, web_form, filled(web_form, email="p4@example.com"))
    assert json_response.status_code == 429
    assert json_response["Content-Type"] == "application/problem+json"
    other = client.post(url(web_form), filled(web_form, email="p5@example.com"), REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200, "the limit is per address"
    assert Lead.objects.count() == 3


def test_the_rate_limit_fails_open_when_the_cache_is_down(client, web_form, settings, monkeypatch):
    settings.WEBFORM_SUBMISSIONS_PER_MINUTE = 1

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "add", down)
    for n in range(3):
        assert client.post(url(web_form), filled(web_form, email=f"p{n}@example.com")).status_code == 200
    assert Lead.objects.count() == 3


def test_cors_headers_only_for_allowed_origins(client, web_form):
    allowed = post_json(client, web_form, filled(web_form), HTTP_ORIGIN=ORIGIN)
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in allowed["Vary"]
    refused = post_json(client, web_form, filled(web_form), HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused
    assert client.post(url(web_form), filled(web_form)).has_header("Access-Control-Allow-Origin") is False


def test_a_preflight_is_answered_for_allowed_origins_only(client, web_form):
    preflight = client.options(url(web_form), HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == ORIGIN
    assert preflight["Access-Control-Allow-Methods"] == "POST"
    assert preflight["Access-Control-Allow-Headers"] == "Content-Type"
    other = client.options(url(web_form), HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    assert "Access-Control-Allow-Methods" not in other
    assert not Lead.objects.exists()


def test_the_hosted_page_works_under_the_strict_csp(client, web_form):
    response = client.get(url(web_form))
    assert response.status_code == 200
    page = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "style=" not in page
    assert "<script" not in page
    assert 'class="wf-hp"' in page
    assert 'name="website"' in page
    assert 'name="form_started"' in page
    assert "You may e-mail me about the product." in page
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies, "the public page sets no cookie"


def test_the_hosted_page_lets_its_form_lead_to_the_redirect(client, web_form):
    WebForm.objects.filter(pk=web_form.pk).update(redirect_url="https://www.example.com/thanks")
    csp = client.get(url(web_form))["Content-Security-Policy"]
    form_action = next(part for part in csp.split(";") if "form-action" in part)
    assert "'self'" in form_action
    assert "https://www.example.com" in form_action


def test_the_public_post_needs_no_csrf_cookie(web_form):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(web_form), filled(web_form)).status_code == 200
    assert Lead.objects.count() == 1
