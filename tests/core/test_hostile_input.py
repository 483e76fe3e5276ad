"""Malformed and hostile input is a 400 naming what is wrong, never a 500, and bad batch items fail alone."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client

from core.json_values import json_depth_exceeds
from core.login_throttle import MAX_PER_ACCOUNT, MAX_PER_ADDRESS
from core.parsers import StrictJSONParser
from funnel.promotion import promote_qualified_leads
from leads.models import Activity, Lead
from scoring.models import ScoringModel
from tests.conftest import client_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def problem(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def post_raw(client, url: str, body: bytes | str):
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return client.generic("POST", url, data, content_type="application/json")


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the JSON parser -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/leads/", "/api/v1/activities/batch/", "/api/v1/goals/"])
def test_json_nested_thousands_deep_is_a_400_on_every_json_endpoint(full_client, manager, url):
    client = client_for(manager, scopes=["ingest", "read", "write"]) if "goals" in url else full_client
    body = '{"a":' + "[" * 5000 + "]" * 5000 + "}"
    assert "nested deeper than 64" in problem(post_raw(client, url, body))["detail"]


def test_json_nested_65_deep_is_refused_and_64_deep_is_parsed(full_client):
    too_deep = {"email": "a@example.com", "attributes": {"x": json.loads("[" * 63 + "]" * 63)}}
    assert "nested deeper" in problem(full_client.post("/api/v1/leads/", too_deep, format="json"))["detail"]
    deep_enough = {"email": "a@example.com", "attributes": {"x": json.loads("[" * 62 + "]" * 62)}}
    assert full_client.post("/api/v1/leads/", deep_enough, format="json").status_code == 201


def test_objects_nested_65_deep_in_a_batch_are_refused_whole(full_client):
    deep: dict = {}
    for _ in range(62):  # the body, "leads", the item and "attributes" are the first levels
        deep = {"x": deep}
    body = {"leads": [{"email": "deep@example.com", "attributes": deep}]}
    assert (
        "nested deeper than 64"
        in problem(post_raw(full_client, "/api/v1/leads/batch/", json.dumps(body)))["detail"]
    )
    assert not Lead.objects.filter(email="deep@example.com").exists()


def test_the_depth_check_counts_containers_not_scalars():
    assert not json_depth_exceeds(list(range(100_000)), limit=1)
    assert not json_depth_exceeds({"a": [1, "x", None, 2.5, True, {}]}, limit=3)
    assert json_depth_exceeds({"a": [1, {"b": [2]}]}, limit=3)
    assert json_depth_exceeds([[], [[[]]], []], limit=3)
    assert not json_depth_exceeds("a scalar", limit=0)


def test_a_long_flat_array_parses_to_its_value():
    body = json.dumps({"values": list(range(200_000)), "names": ["n"] * 10_000}).encode()
    parsed = StrictJSONParser().parse(io.BytesIO(body))
    assert parsed["values"][-1] == 199_999
    assert len(parsed["names"]) == 10_000


def test_bad_utf8_in_a_json_body_is_a_400(full_client):
    body = b'{"email": "a@example.com", "first_name": "\xff\xfe"}'
    assert "UTF-8" in problem(post_raw(full_client, "/api/v1/leads/", body))["detail"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(full_client, constant):
    body = '{"email": "a@example.com", "attributes": {"x": ' + constant + "}}"
    problem(post_raw(full_client, "/api/v1/leads/", body))
    assert not Lead.objects.exists()


def test_a_number_that_overflows_to_infinity_fails_only_its_batch_item(full_client):
    body = (
        '{"leads": [{"email": "good@example.com"},'
        ' {"email": "bad@example.com", "attributes": {"x": 1e400}},'
        ' {"email": "also-good@example.com", "attributes": {"y": [1, -1e999]}}]}'
    )
    response = post_raw(full_client, "/api/v1/leads/batch/", body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error"]
    assert results[1]["errors"] == {"attributes": ["Must contain finite numbers only."]}
    assert list(Lead.objects.values_list("email", flat=True)) == ["good@example.com"]


def test_an_activity_metadata_number_that_overflows_fails_only_its_item(full_client):
    lead = LeadFactory(email="ann@example.com")
    item = '{"lead": ' + str(lead.pk) + ', "type": "page_view", "metadata": {"n": '
    body = '{"activities": [' + item + "1e400}}, " + item + "1.5}}]}"
    response = post_raw(full_client, "/api/v1/activities/batch/", body)
    assert [r["status"] for r in response.json()["results"]] == ["error", "created"]
    assert list(Activity.objects.values_list("metadata", flat=True)) == [{"n": 1.5}]


# --- datetimes -----------------------------------------------------------------------------------------


def test_an_activity_dated_year_one_fails_alone_and_the_lead_stays_readable(full_client):
    lead = LeadFactory(email="ann@example.com")
    batch = [
        {"lead": lead.pk, "type": "page_view", "occurred_at": "0001-01-01T00:00:00+14:00"},
        {"lead": lead.pk, "type": "page_view", "occurred_at": "1999-12-31T23:59:59Z"},
        {"lead": lead.pk, "type": "page_view", "occurred_at": "2000-01-01T00:00:00Z"},
    ]
    response = full_client.post("/api/v1/activities/batch/", {"activities": batch}, format="json")
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "created"]
    assert results[0]["errors"] == {"occurred_at": ["Must be a date between 1900-01-01 and 2100-01-01."]}
    assert results[1]["errors"] == {"occurred_at": ["Must not be before 2000-01-01."]}
    assert list(Activity.objects.values_list("occurred_at", flat=True)) == [datetime(2000, 1, 1, tzinfo=UTC)]
    assert full_client.get(f"/api/v1/leads/{lead.pk}/timeline/").status_code == 200
    assert full_client.get("/api/v1/activities/").status_code == 200


@pytest.mark.parametrize("offset", ["+14:01", "-14:30", "+15:59", "+16:00", "+23:59"])
def test_a_utc_offset_beyond_14_hours_in_occurred_at_fails_alone(full_client, offset):
    lead = LeadFactory(email="ann@example.com")
    batch = [
        {"lead": lead.pk, "type": "page_view", "occurred_at": f"2024-05-01T10:00:00{offset}"},
        {"lead": lead.pk, "type": "page_view", "occurred_at": "2024-05-01T10:00:00+14:00"},
    ]
    results = full_client.post("/api/v1/activities/batch/", {"activities": batch}, format="json").json()
    assert [r["status"] for r in results["results"]] == ["error", "created"]
    assert list(results["results"][0]["errors"]) == ["occurred_at"]
    assert Activity.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "name"), [("/api/v1/leads/", "updated_since"), ("/api/v1/activities/", "occurred_since")]
)
@pytest.mark.parametrize(
    "value", ["2024-01-01T00:00:00+16:00", "2024-01-01T00:00:00+24:00", "1899-12-31T00:00:00Z", "0001-01-01"]
)
def test_datetime_filters_refuse_offsets_and_dates_out_of_range(full_client, url, name, value):
    body = problem(full_client.get(url, {name: value}))
    assert list(body["errors"]) == [name]


def test_the_datetime_filters_still_take_a_good_value(full_client):
    LeadFactory(email="ann@example.com")
    response = full_client.get("/api/v1/leads/", {"updated_since": "2000-01-01T00:00:00+14:00"})
    assert [lead["email"] for lead in response.json()["results"]] == ["ann@example.com"]


def drf_cursor(position: str) -> str:
    return base64.b64encode(urlencode({"o": "0", "r": "0", "p": position}).encode()).decode()


@pytest.mark.parametrize("position", ["2024-01-01T00:00:00+16:00", "0001-01-01T00:00:00+14:00", "not a date"])
@pytest.mark.parametrize("url", ["/api/v1/leads/", "/api/v1/activities/"])
def test_a_forged_cursor_position_is_a_400_naming_the_cursor(full_client, url, position):
    LeadFactory()
    body = problem(full_client.get(url, {"cursor": drf_cursor(position)}))
    assert list(body["errors"]) == ["cursor"]


def test_a_page_cursor_with_a_forged_offset_shows_the_first_page(manager):
    raw = json.dumps([{"dt": "2024-01-01T00:00:00+16:00"}, 1, "n"]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert browser_for(manager).get("/audit/", {"cursor": cursor}).status_code == 200


# --- integer and text parameters -----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["²", "٣", "1e3", "-1", "0", "99999999999999999999"])
def test_the_timeline_page_size_must_be_ascii_digits(full_client, page):
    lead = LeadFactory()
    body = problem(full_client.get(f"/api/v1/leads/{lead.pk}/timeline/", {"page_size": page}))
    assert list(body["errors"]) == ["page_size"]


def test_a_unicode_digit_as_the_queue_rep_shows_the_whole_queue(manager):
    response = browser_for(manager).get("/queue/", {"rep": "²"})
    assert response.status_code == 200


def test_nul_in_the_goals_metric_filter_is_a_400(manager):
    client = client_for(manager, scopes=["read"])
    body = problem(client.get("/api/v1/goals/", {"metric": "mqls\x00"}))
    assert list(body["errors"]) == ["metric"]
    assert client.get("/api/v1/goals/", {"metric": "mqls"}).status_code == 200


@pytest.mark.parametrize(
    "since", ["2024-01-01T00:00:00", "yesterday", "2024-01-01T00:00:00+16:00", "0001-01-01T00:00:00+14:00"]
)
def test_a_naive_or_malformed_since_on_the_refresh_status_is_a_400(manager, since):
    response = browser_for(manager).get("/kpis/refresh/status/", {"period": "2026-11", "since": since})
    assert response.status_code == 400


@pytest.fixture
def handed_lead(rep):
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )
    lead = LeadFactory(score=80, grade="A")
    promote_qualified_leads()
    lead.refresh_from_db()
    assert (lead.stage_id, lead.owner_id) == ("mql", rep.pk)
    return lead


def test_the_queue_reject_form_refuses_nul_in_the_note(handed_lead, rep):
    response = browser_for(rep).post(
        f"/queue/{handed_lead.pk}/reject/", {"reason": "no-budget", "note": "bad\x00note"}
    )
    assert response.status_code == 302
    handed_lead.refresh_from_db()
    assert handed_lead.stage_id == "mql"


# --- text fields ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b", "\udfff"])
@pytest.mark.parametrize("field", ["note", "label"])
def test_nul_and_lone_surrogates_in_scoring_draft_text_are_a_400_naming_the_field(marketer, field, text):
    client = client_for(marketer, scopes=["read", "write"])
    active = ScoringModel.objects.get(status="active")
    rules = [dict(rule) for rule in active.fit_rules] or [
        {"field": "country", "operator": "eq", "value": "DE", "points": 5, "label": "Germany"}
    ]
    payload = {"note": text} if field == "note" else {"fit_rules": [{**rules[0], "label": text}]}
    body = problem(post_raw(client, "/api/v1/scoring-model/versions/", json.dumps(payload)))
    assert list(body["errors"]) == (["note"] if field == "note" else ["fit_rules.0.label"])
    assert not ScoringModel.objects.filter(status="draft").exists()


@pytest.mark.parametrize("bad", [[], {}, None, 1])
def test_a_fit_rule_field_that_is_not_a_text_is_a_400(marketer, bad):
    client = client_for(marketer, scopes=["read", "write"])
    rule = {"field": bad, "operator": "eq", "value": "DE", "points": 5, "label": "x"}
    body = problem(client.post("/api/v1/scoring-model/versions/", {"fit_rules": [rule]}, format="json"))
    assert "fit_rules.0.field" in body["errors"]


@pytest.mark.parametrize(
    "field", ["first_name", "company", "external_id", "utm_source", "email", "attributes"]
)
@pytest.mark.parametrize("text", ["x\x00y", "x\ud800y"])
def test_control_characters_and_lone_surrogates_in_lead_text_are_a_400_naming_the_field(
    full_client, field, text
):
    payload = {"email": "a@example.com", field: {"k": text} if field == "attributes" else text}
    if field == "email":
        payload["email"] = f"a{text}@example.com"
    body = problem(post_raw(full_client, "/api/v1/leads/", json.dumps(payload)))
    assert list(body["errors"]) == [field]
    assert not Lead.objects.exists()


# --- the scoring page's formsets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"fit-TOTAL_FORMS": "100000000", "fit-INITIAL_FORMS": "0"},
        {"fit-TOTAL_FORMS": "²", "fit-INITIAL_FORMS": "x"},
        {"fit-TOTAL_FORMS": "2", "fit-INITIAL_FORMS": "0", "fit-0-field": "\x00", "fit-1-label": "a\x00"},
        {"engagement-TOTAL_FORMS": "3", "engagement-INITIAL_FORMS": "0", "engagement-0-activity_type": "x"},
        {"bogus-TOTAL_FORMS": "1"},
        {},
    ],
)
def test_bogus_formset_data_on_the_scoring_page_is_a_400(marketer, data):
    response = browser_for(marketer).post("/scoring/propose/", data)
    assert response.status_code == 400
    assert not ScoringModel.objects.filter(status="draft").exists()


# --- e-mail look-alikes --------------------------------------------------------------------------------


def fullwidth(text: str) -> str:
    """The fullwidth look-alike of ASCII letters (U+FF21 onwards)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def test_a_fullwidth_domain_is_the_same_lead(full_client):
    first = full_client.post("/api/v1/leads/", {"email": "ann@example.com"}, format="json")
    second = full_client.post("/api/v1/leads/", {"email": f"Ann@{fullwidth('EXAMPLE')}.com"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert list(Lead.objects.values_list("email", flat=True)) == ["ann@example.com"]


@pytest.mark.parametrize("invisible", ["\u200b", "\u200d", "\ufeff", "\u2060"])
def test_invisible_characters_in_an_email_are_a_400(full_client, invisible):
    body = problem(
        full_client.post("/api/v1/leads/", {"email": f"ann@example.com{invisible}"}, format="json")
    )
    assert list(body["errors"]) == ["email"]
    assert not Lead.objects.exists()


def test_an_activity_finds_its_lead_by_a_fullwidth_email(full_client):
    lead = LeadFactory(email="ann@example.com")
    response = full_client.post(
        "/api/v1/activities/",
        {"email": f"ann@{fullwidth('example')}.com", "type": "page_view"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["lead"] == lead.pk


def test_now_is_inside_the_accepted_range():
    # The range must not drift into refusing ordinary dates (a guard on the constants, not on the code).
    from core.inputs import LATEST

    assert datetime.now(UTC) + timedelta(days=365 * 50) < LATEST


# --- concurrent e-mail changes, ingest-only answers, deactivated users, failed logins -------------------


def test_two_leads_given_the_same_email_at_once_is_a_409_not_a_500(full_client, monkeypatch):
    taken = LeadFactory(email="ann@example.com")
    other = LeadFactory(email="bob@example.com")
    # The concurrent PATCH commits between this one's check and its save: the check sees nothing.
    monkeypatch.setattr("django.db.models.query.QuerySet.exists", lambda self: False)
    response = full_client.patch(f"/api/v1/leads/{other.pk}/", {"email": "ann@example.com"}, format="json")
    assert problem(response, 409)["detail"] == "Another lead took this e-mail address at the same time."
    assert sorted(Lead.objects.values_list("pk", "email")) == [
        (taken.pk, "ann@example.com"),
        (other.pk, "bob@example.com"),
    ]


def test_an_ingest_only_token_learns_only_the_id_and_status_of_an_upsert(ingest_client, full_client):
    LeadFactory(email="ann@example.com", phone="+49 30 1234567", score=77)
    response = ingest_client.post("/api/v1/leads/", {"email": "ann@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"id": Lead.objects.get().pk, "status": "updated"}
    created = ingest_client.post("/api/v1/leads/", {"email": "new@example.com"}, format="json")
    assert (created.status_code, set(created.json())) == (201, {"id", "status"})
    full = full_client.post("/api/v1/leads/", {"email": "ann@example.com"}, format="json")
    assert full.json()["phone"] == "+49 30 1234567"


def test_a_deactivated_users_token_stops_working_at_once(marketer):
    client = client_for(marketer, scopes=["read"])
    assert client.get("/api/v1/leads/").status_code == 200  # the token is now cached
    marketer.is_active = False
    marketer.save(update_fields=["is_active"])
    assert problem(client.get("/api/v1/leads/"), 401)["status"] == 401


def login(client: Client, password: str, username: str = "marketer", address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_failed_logins_lock_the_account_even_for_the_right_password(marketer):
    client = Client()
    for _ in range(MAX_PER_ACCOUNT):
        assert login(client, "wrong").status_code == 200
    response = login(client, "pw")
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # From another address too: the lock is on the account.
    assert "Too many failed logins" in login(Client(), "pw", address="10.0.0.2").content.decode()


def test_failed_logins_from_one_address_lock_that_address(marketer, rep):
    client = Client()
    for i in range(MAX_PER_ADDRESS):
        login(client, "wrong", username=f"guess{i}")
    assert "Too many failed logins" in login(client, "pw", username="rep").content.decode()
    assert login(Client(), "pw", username="rep", address="10.0.0.9").status_code == 302


def test_a_login_after_a_few_failures_works_and_clears_the_count(marketer):
    client = Client()
    for _ in range(MAX_PER_ACCOUNT - 1):
        login(client, "wrong")
    assert login(client, "pw").status_code == 302
    for _ in range(MAX_PER_ACCOUNT - 1):
        login(Client(), "wrong")
    assert login(Client(), "pw").status_code == 302


def test_logins_still_work_when_the_cache_is_down(marketer, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get_many", "add", "incr", "delete"):
        monkeypatch.setattr(f"core.login_throttle.cache.{name}", down)
    login(Client(), "wrong")
    assert login(Client(), "pw").status_code == 302


# --- text fields take JSON strings only ----------------------------------------------------------------


@pytest.mark.parametrize("value", [6.190236428245108e151, 42, True, ["a"], {"a": 1}])
def test_a_note_body_that_is_not_a_string_is_a_400_and_no_note_is_written(full_client, value):
    lead = LeadFactory()
    body = problem(full_client.post(f"/api/v1/leads/{lead.pk}/notes/", {"body": value}, format="json"))
    assert "body" in body["errors"]
    assert not lead.notes.exists()


def test_a_goal_name_that_is_a_number_is_a_400_naming_the_field(manager):
    client = client_for(manager, scopes=["ingest", "read", "write"])
    goal = {"name": 2026, "metric": "mqls", "target": 10, "period": "2026-11", "scope": "all"}
    assert problem(client.post("/api/v1/goals/", goal, format="json"))["errors"] == {
        "name": ["Not a valid string."]
    }
    goal["name"] = "2026"
    assert client.post("/api/v1/goals/", goal, format="json").status_code == 201
