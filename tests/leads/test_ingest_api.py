from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.models import IdempotencyKey
from core.throttling import ClientRateThrottle
from core.tokens import issue_token, revoke_token
from leads.models import Lead
from tests.conftest import client_for, needs_postgres
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/"
BATCH = "/api/v1/leads/batch/"


def problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


# --- single upsert -------------------------------------------------------------------------------------


def test_creating_a_lead_answers_201_and_stores_the_email_lower_case(full_client):
    response = full_client.post(URL, {"email": "  Ann@Example.COM ", "first_name": "Ann"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["stage"] == "inquiry"
    assert body["score_breakdown"] == []
    assert Lead.objects.get().email == "ann@example.com"


def test_the_same_email_in_another_case_and_with_spaces_updates_the_same_lead(full_client):
    first = full_client.post(URL, {"email": "ann@example.com"}, format="json")
    second = full_client.post(URL, {"email": "  ANN@example.com\t", "company": "Acme"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Lead.objects.count() == 1


def test_fields_sent_overwrite_and_fields_absent_stay(full_client):
    full_client.post(
        URL,
        {"email": "ann@example.com", "first_name": "Ann", "job_title": "CTO", "company_size": 50},
        format="json",
    )
    response = full_client.post(URL, {"email": "ann@example.com", "job_title": "CEO"}, format="json")
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.first_name, lead.job_title, lead.company_size) == ("Ann", "CEO", 50)


def test_persona_and_campaign_are_given_by_slug(full_client):
    PersonaFactory(slug="ops-leader")
    CampaignFactory(slug="spring-webinar")
    response = full_client.post(
        URL, {"email": "a@example.com", "persona": "ops-leader", "campaign": "spring-webinar"}, format="json"
    )
    assert response.status_code == 201
    assert (response.json()["persona"], response.json()["campaign"]) == ("ops-leader", "spring-webinar")


def test_an_unknown_persona_slug_is_a_400(full_client):
    response = full_client.post(URL, {"email": "a@example.com", "persona": "nobody-knows"}, format="json")
    assert response.status_code == 400
    assert "persona" in problem(response)["errors"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_name": "Ann"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "company_size": "many"}, "company_size"),
        ({"email": "a@example.com", "company_size": 0}, "company_size"),
        ({"email": "a@example.com", "is_decision_maker": [1]}, "is_decision_maker"),
        ({"email": "a@example.com", "seniority": "emperor"}, "seniority"),
        ({"email": "a@example.com", "source": "carrier-pigeon"}, "source"),
        ({"email": "a@example.com", "country": "XX"}, "country"),
        ({"email": "a@example.com", "first_name": "x" * 101}, "first_name"),
        ({"email": "a@example.com", "company": "Acme\x00Corp"}, "company"),
        ({"email": "a@example.com", "job_title": "CEO\x1b[31m"}, "job_title"),
        ({"email": "a@example.com", "attributes": ["not", "an", "object"]}, "attributes"),
        ({"email": "a@example.com", "attributes": {"blob": "x" * 17_000}}, "attributes"),
        ({"email": "a@example.com", "attributes": {"nul": "a\u0000b"}}, "attributes"),
        ({"email": "a@example.com", "favourite_colour": "blue"}, "favourite_colour"),
        ({"email": "a@example.com", "score": 99}, "score"),
        ({"email": "a@example.com", "stage": "won"}, "stage"),
        ({"email": 12345}, "email"),
        ({"email": "a@example.com", "persona": "Not a slug!"}, "persona"),
    ],
)
def test_invalid_fields_are_a_400_naming_the_field_and_store_nothing(full_client, payload, field):
    response = full_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in problem(response)["errors"]
    assert not Lead.objects.exists()


def test_read_only_fields_are_named_as_read_only(full_client):
    response = full_client.post(URL, {"email": "a@example.com", "grade": "A", "owner": 1}, format="json")
    errors = problem(response)["errors"]
    assert errors["grade"] == ["This field is read-only."]
    assert errors["owner"] == ["This field is read-only."]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b'"a string"', b"null", b"\xff\xfe\x00garbage"])
def test_a_body_that_is_not_a_json_object_is_a_400(full_client, body):
    response = full_client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    problem(response)


def test_a_body_of_another_media_type_is_a_415(full_client):
    response = full_client.generic("POST", URL, b"email=a@example.com", content_type="text/plain")
    assert response.status_code == 415
    problem(response)


def test_five_megabytes_of_junk_is_a_400_not_a_500(full_client):
    junk = b"\x00\x01" * (5 * 1024 * 1024 // 2)
    response = full_client.generic("POST", URL, junk, content_type="application/json")
    assert response.status_code == 400
    problem(response)


def test_a_body_over_10_mib_is_a_413(full_client):
    body = json.dumps({"email": "a@example.com", "attributes": {"x": "y" * (10 * 1024 * 1024 + 10)}})
    response = full_client.generic("POST", URL, body.encode(), content_type="application/json")
    assert response.status_code == 413
    problem(response)
    assert not Lead.objects.exists()


def test_a_very_long_string_everywhere_is_a_400(full_client):
    payload = {"email": ("a" * 300) + "@example.com", "company": "c" * 10_000, "phone": "1" * 500}
    response = full_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert {"email", "company", "phone"} <= set(problem(response)["errors"])


@needs_postgres
@pytest.mark.parametrize("scopes", [["ingest"], ["ingest", "read"]])
def test_on_postgresql_a_new_lead_is_one_statement_with_its_first_transition_and_its_answer(marketer, scopes):
    from django.test.utils import CaptureQueriesContext

    from leads.models import Transition

    client = client_for(marketer, scopes=scopes)
    client.post(URL, {"email": "warm@example.com"}, format="json")  # the token is cached from now on
    payload = {"email": "one@example.com", "first_name": "Ann", "last_name": "Lee", "company": "Acme"}
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, payload, format="json")
    assert response.status_code == 201
    # One statement and no savepoint: it is a transaction by itself (no BEGIN and COMMIT round trips).
    assert len(captured.captured_queries) == 1
    lead = Lead.objects.get(email="one@example.com")
    assert lead.name_key == "ann lee|acme"
    assert list(Transition.objects.filter(lead=lead).values_list("to_stage__slug", flat=True)) == ["inquiry"]
    if "read" in scopes:
        assert response.json() == client.get(f"{URL}{lead.pk}/").json()
    else:
        assert response.json() == {"id": lead.pk, "status": "created"}


def test_the_answer_of_an_update_is_the_lead_as_stored_with_its_slugs(full_client):
    persona, campaign = PersonaFactory(slug="cto"), CampaignFactory(slug="spring")
    lead = LeadFactory(email="kept@example.com", company="Kept", persona=persona, campaign=campaign)
    response = full_client.post(URL, {"email": "KEPT@example.com", "job_title": "CEO"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["job_title"], body["company"]) == (lead.pk, "CEO", "Kept")
    assert (body["persona"], body["campaign"]) == ("cto", "spring")
    assert body == full_client.get(f"{URL}{lead.pk}/").json()


def test_an_update_of_part_of_a_name_keeps_the_match_key_right(full_client):
    LeadFactory(email="kim@example.com", first_name="Kim", last_name="Park", company="Acme")
    full_client.post(URL, {"email": "kim@example.com", "first_name": "Kimberly"}, format="json")
    assert Lead.objects.get(email="kim@example.com").name_key == "kimberly park|acme"
    full_client.post(
        URL, {"email": "kim@example.com", "first_name": "K", "last_name": "P", "company": "B"}, format="json"
    )
    assert Lead.objects.get(email="kim@example.com").name_key == "k p|b"


# --- authentication, scopes, roles ---------------------------------------------------------------------


def test_no_credentials_is_a_401_with_a_challenge(anonymous):
    response = anonymous.post(URL, {"email": "a@example.com"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    problem(response)


def test_a_bad_token_is_a_401(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer aln_not-a-real-token")
    assert anonymous.get(URL).status_code == 401


def test_a_revoked_token_is_a_401(marketer):
    issued = issue_token(user=marketer, name="t", scopes=["ingest", "read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.get(URL).status_code == 200
    revoke_token(token=issued.token)
    assert client.get(URL).status_code == 401


def test_tokens_are_stored_only_as_a_hash(marketer):
    issued = issue_token(user=marketer, name="t", scopes=["ingest"])
    issued.token.refresh_from_db()
    assert issued.secret not in (issued.token.key_hash, issued.token.prefix)
    assert len(issued.token.key_hash) == 64


def test_ingest_only_token_can_push_but_cannot_list_or_read_leads(ingest_client):
    created = ingest_client.post(URL, {"email": "a@example.com"}, format="json")
    assert created.status_code == 201
    assert ingest_client.get(URL).status_code == 403
    assert ingest_client.get(f"{URL}{created.json()['id']}/").status_code == 403
    assert (
        ingest_client.patch(f"{URL}{created.json()['id']}/", {"company": "X"}, format="json").status_code
        == 403
    )


def test_read_only_token_cannot_push_leads(marketer):
    client = client_for(marketer, scopes=["read"])
    assert client.post(URL, {"email": "a@example.com"}, format="json").status_code == 403


def test_a_token_of_a_user_in_no_team_is_forbidden(nobody):
    client = client_for(nobody, scopes=["ingest", "read"])
    assert client.post(URL, {"email": "a@example.com"}, format="json").status_code == 403
    assert client.get(URL).status_code == 403


def test_the_browser_session_needs_a_csrf_token_to_post(marketer):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="marketer", password="pw")
    assert client.get(URL).status_code == 200
    response = client.post(URL, {"email": "a@example.com"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in problem(response)["detail"]


def test_too_many_requests_is_a_429_with_retry_after(full_client, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "3/min"})
    cache.clear()
    codes = [full_client.get(URL).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3] == 429
    response = full_client.get(URL)
    assert int(response["Retry-After"]) >= 1
    problem(response)
    cache.clear()


# --- batch ---------------------------------------------------------------------------------------------


def test_a_batch_with_good_and_bad_items_stores_the_good_and_reports_each(full_client):
    LeadFactory(email="old@example.com")
    response = full_client.post(
        BATCH,
        {
            "leads": [
                {"email": "new@example.com"},
                {"email": "broken"},
                {"email": "OLD@example.com", "company": "Z"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["errors"]) == (1, 1, 1)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, "created"), (1, "error"), (2, "updated")]
    assert body["results"][1]["errors"]["email"]
    assert body["results"][1]["id"] is None
    assert Lead.objects.get(email="old@example.com").company == "Z"
    assert Lead.objects.count() == 2


def test_the_same_email_twice_in_a_batch_is_one_lead_and_later_fields_win(full_client):
    response = full_client.post(
        BATCH,
        {
            "leads": [
                {"email": "dup@example.com", "first_name": "First", "company": "Kept"},
                {"email": "DUP@example.com", "first_name": "Second"},
            ]
        },
        format="json",
    )
    results = response.json()["results"]
    assert results[0]["id"] == results[1]["id"]
    assert [r["status"] for r in results] == ["created", "updated"]
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company) == ("Second", "Kept")


@pytest.mark.parametrize(
    "payload",
    [
        {"leads": []},
        {"leads": [{"email": f"a{i}@example.com"} for i in range(1001)]},
        {"leads": {}},
        {},
        {"leads": [{"email": "a@example.com"}], "extra": 1},
    ],
)
def test_a_batch_must_hold_1_to_1000_leads_and_nothing_else(full_client, payload):
    response = full_client.post(BATCH, payload, format="json")
    assert response.status_code == 400
    problem(response)
    assert not Lead.objects.exists()


def test_a_batch_of_1000_runs_a_few_statements_not_one_per_lead(full_client, django_assert_max_num_queries):
    PersonaFactory(slug="ops-leader")
    leads = [
        {"email": f"lead{i}@example.com", "persona": "ops-leader", "company_size": i + 1} for i in range(1000)
    ]
    with django_assert_max_num_queries(25):
        response = full_client.post(BATCH, {"leads": leads}, format="json")
    assert response.json()["created"] == 1000
    assert Lead.objects.filter(persona__slug="ops-leader").count() == 1000


def test_a_batch_item_that_is_not_an_object_is_an_item_error(full_client):
    response = full_client.post(
        BATCH, {"leads": ["a@example.com", {"email": "b@example.com"}]}, format="json"
    )
    assert [r["status"] for r in response.json()["results"]] == ["error", "created"]


# --- idempotency ---------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_response_and_changes_nothing(full_client):
    first = full_client.post(URL, {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    updated_at = Lead.objects.get().updated_at
    again = full_client.post(URL, {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1
    assert Lead.objects.get().updated_at == updated_at


def test_a_batch_retry_with_the_same_key_replays_the_results(full_client):
    payload = {"leads": [{"email": "a@example.com"}, {"email": "b@example.com"}]}
    first = full_client.post(BATCH, payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-7")
    again = full_client.post(BATCH, payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-7")
    assert again.json() == first.json()
    assert again.json()["created"] == 2


def test_the_same_key_with_another_body_is_a_422(full_client):
    full_client.post(URL, {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    response = full_client.post(URL, {"email": "b@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert response.status_code == 422
    problem(response)
    assert not Lead.objects.filter(email="b@example.com").exists()


def test_a_key_whose_first_request_is_still_running_is_a_409(full_client, marketer):
    from core.idempotency import request_fingerprint

    body = json.dumps({"email": "a@example.com"}).encode()
    token_id = marketer.api_tokens.get().pk
    from django.utils import timezone

    IdempotencyKey.objects.create(
        client=f"token:{token_id}",
        key="key-3",
        request_hash=request_fingerprint("POST", URL, body),
        created_at=timezone.now(),
    )
    response = full_client.generic(
        "POST", URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-3"
    )
    assert response.status_code == 409
    problem(response)
    assert not Lead.objects.exists()


def test_keys_are_per_client(full_client, rep):
    other = client_for(rep, scopes=["ingest"])
    a = full_client.post(URL, {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    b = other.post(URL, {"email": "b@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert (a.status_code, b.status_code) == (201, 201)


def test_a_key_expires_after_24_hours(full_client, time_machine):
    time_machine.move_to("2026-01-01T10:00:00Z")
    full_client.post(URL, {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    time_machine.move_to("2026-01-02T10:00:01Z")
    response = full_client.post(
        URL, {"email": "a@example.com", "company": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="old"
    )
    assert response.status_code == 200
    assert Lead.objects.get().company == "X"


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_a_400(full_client, key):
    response = full_client.post(URL, {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in problem(response)["errors"]


def test_a_validation_error_is_replayed_too(full_client):
    first = full_client.post(URL, {"email": "bad"}, format="json", HTTP_IDEMPOTENCY_KEY="k-bad")
    again = full_client.post(URL, {"email": "bad"}, format="json", HTTP_IDEMPOTENCY_KEY="k-bad")
    assert first.status_code == again.status_code == 400
    assert first.content == again.content


# --- list, detail, change ------------------------------------------------------------------------------


def test_the_list_is_cursor_paginated(full_client):
    for i in range(7):
        LeadFactory(email=f"l{i}@example.com")
    page = full_client.get(URL, {"page_size": 3}).json()
    assert set(page) == {"next", "previous", "results"}
    seen = [lead["email"] for lead in page["results"]]
    while page["next"]:
        page = full_client.get(page["next"]).json()
        seen += [lead["email"] for lead in page["results"]]
    assert sorted(seen) == sorted(f"l{i}@example.com" for i in range(7))


def test_the_list_filters_and_orders(full_client, rep):
    persona = PersonaFactory(slug="it-director")
    LeadFactory(email="a@example.com", score=10, grade="C", persona=persona, owner=rep)
    LeadFactory(email="b@example.com", score=80, grade="A", company="Globex")
    LeadFactory(email="c@example.com", score=50, grade="B", stage="mql")

    def emails(**params):
        return [r["email"] for r in full_client.get(URL, params).json()["results"]]

    assert emails(ordering="-score") == ["b@example.com", "c@example.com", "a@example.com"]
    assert emails(ordering="score") == ["a@example.com", "c@example.com", "b@example.com"]
    assert emails(min_score=50, ordering="score") == ["c@example.com", "b@example.com"]
    assert emails(grade="A") == ["b@example.com"]
    assert emails(stage="mql") == ["c@example.com"]
    assert emails(persona="it-director") == ["a@example.com"]
    assert emails(owner=rep.pk) == ["a@example.com"]
    assert emails(search="globex") == ["b@example.com"]


def test_a_bad_filter_value_is_a_400(full_client):
    response = full_client.get(URL, {"min_score": "lots"})
    assert response.status_code == 400
    assert "min_score" in problem(response)["errors"]


def test_the_list_runs_a_constant_number_of_queries(full_client, django_assert_max_num_queries):
    persona, campaign = PersonaFactory(), CampaignFactory()
    for i in range(60):
        LeadFactory(email=f"q{i}@example.com", persona=persona, campaign=campaign)
    with django_assert_max_num_queries(6):
        response = full_client.get(URL, {"page_size": 50})
    assert len(response.json()["results"]) == 50


def test_the_detail_has_the_score_breakdown(full_client):
    lead = LeadFactory(score_breakdown=[{"rule": "Director or above", "points": 20}], score=20)
    body = full_client.get(f"{URL}{lead.pk}/").json()
    assert body["score_breakdown"] == [{"rule": "Director or above", "points": 20}]


def test_an_unknown_lead_is_a_404(full_client):
    response = full_client.get(f"{URL}424242/")
    assert response.status_code == 404
    problem(response)


def test_patch_changes_only_the_fields_sent(full_client):
    lead = LeadFactory(company="Acme", job_title="CTO")
    response = full_client.patch(f"{URL}{lead.pk}/", {"job_title": "CEO", "country": "de"}, format="json")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.job_title, lead.country) == ("Acme", "CEO", "DE")


def test_patch_refuses_an_email_another_lead_has(full_client):
    LeadFactory(email="taken@example.com")
    lead = LeadFactory(email="mine@example.com")
    response = full_client.patch(f"{URL}{lead.pk}/", {"email": "TAKEN@example.com"}, format="json")
    assert response.status_code == 400
    assert "email" in problem(response)["errors"]


def test_patch_refuses_read_only_and_unknown_fields(full_client):
    lead = LeadFactory()
    response = full_client.patch(f"{URL}{lead.pk}/", {"score": 100, "colour": "red"}, format="json")
    assert set(problem(response)["errors"]) == {"score", "colour"}


def test_a_note_can_be_added_and_control_characters_are_refused(full_client):
    lead = LeadFactory()
    response = full_client.post(f"{URL}{lead.pk}/notes/", {"body": "Call back\ton Monday"}, format="json")
    assert response.status_code == 201
    assert response.json()["body"] == "Call back\ton Monday"
    bad = full_client.post(f"{URL}{lead.pk}/notes/", {"body": "nul\x00"}, format="json")
    assert bad.status_code == 400


# --- concurrency ---------------------------------------------------------------------------------------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_upserts_of_one_email_make_one_lead(marketer):
    issued = issue_token(user=marketer, name="t", scopes=["ingest"])
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    lock = threading.Lock()

    def push(n: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        barrier.wait()
        try:
            response = client.post(URL, {"email": "Race@Example.com", "first_name": f"N{n}"}, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Lead.objects.filter(email="race@example.com").count() == 1
    assert sorted(statuses) == [200] * 49 + [201]
