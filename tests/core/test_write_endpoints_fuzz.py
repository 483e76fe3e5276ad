"""Property: whatever JSON or text a client sends to a write endpoint, the answer is never a 5xx, and a
refused request (or a refused batch item) writes nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignment.models import Goal
from core.models import AuditEvent
from leads.models import Activity, Lead, Note, Transition
from scoring.models import ScoringModel
from tests.conftest import client_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

# Every write endpoint, with the fields it knows (so that drawn payloads reach the field validation, not
# only the "unknown field" check). "{lead}" and "{goal}" are filled in with existing rows.
ENDPOINTS: list[tuple[str, str, list[str]]] = [
    ("post", "/api/v1/leads/", ["email", "first_name", "company_size", "country", "persona", "attributes"]),
    ("patch", "/api/v1/leads/{lead}/", ["email", "last_name", "seniority", "is_decision_maker", "campaign"]),
    ("post", "/api/v1/leads/{lead}/notes/", ["body"]),
    ("post", "/api/v1/activities/", ["lead", "email", "type", "occurred_at", "external_id", "metadata"]),
    ("post", "/api/v1/scoring-model/versions/", ["mql_threshold", "fit_rules", "grade_bands", "note"]),
    ("post", "/api/v1/leads/{lead}/accept/", []),
    ("post", "/api/v1/leads/{lead}/reject/", ["reason", "note"]),
    ("post", "/api/v1/leads/{lead}/move/", ["stage", "reason", "amount"]),
    ("post", "/api/v1/leads/{lead}/assign/", ["owner"]),
    ("post", "/api/v1/goals/", ["name", "metric", "target", "period", "scope"]),
    ("patch", "/api/v1/goals/{goal}/", ["name", "target", "period", "scope"]),
]
BATCHES: list[tuple[str, str, list[str]]] = [
    ("/api/v1/leads/batch/", "leads", ["email", "first_name", "company_size", "attributes", "source"]),
    ("/api/v1/activities/batch/", "activities", ["email", "type", "occurred_at", "metadata"]),
]
TABLES = (Lead, Activity, Note, Transition, ScoringModel, Goal, AuditEvent)

# Text with what breaks naive code: NUL and other controls, lone surrogates, Unicode digits, invisibles.
text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.sampled_from(["\x00", "\ud800", "\udfff", "²", "٣", "\u200b", "@", ".", "-", "e", "1"]),
    ),
    max_size=20,
)
tricky_strings = st.sampled_from(
    [
        "ann@example.com",
        "0001-01-01T00:00:00+14:00",
        "2024-01-01T00:00:00+16:00",
        "2024-01-01T00:00:00",
        "2099-12-31T23:59:59-14:00",
        "page_view",
        "inquiry",
        "nurture",
        "no-budget",
        "mqls",
        "2026-11",
        "all",
        "eq",
        "country",
    ]
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text, tricky_strings)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(text | tricky_strings, children, max_size=3)
    ),
    max_leaves=8,
)
# Spliced into a body as raw JSON text: what json.dumps cannot produce.
HAZARDS = [
    "1e400",
    "-1e999",
    "NaN",
    "Infinity",
    '"\\u0000"',
    '"\\ud800"',
    "[" * 70 + "]" * 70,
    "[" * 5000 + "]" * 5000,
    "{}",
    "[]",
]


def payloads(fields: list[str]) -> st.SearchStrategy[dict]:
    known = (
        st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields)) if fields else st.just({})
    )
    return st.one_of(known, st.dictionaries(text, json_values, max_size=2))


@st.composite
def bodies(draw, fields: list[str]) -> bytes:
    """A JSON text: usually an object, sometimes any value, now and then with a raw hazard spliced in."""
    value = draw(st.one_of(payloads(fields), payloads(fields), json_values))
    raw = json.dumps(value)
    if draw(st.integers(0, 3)) == 0:
        hazard = draw(st.sampled_from(HAZARDS))
        name = draw(st.sampled_from(fields or ["x"]))
        raw = json.dumps({**(value if isinstance(value, dict) else {}), name: "\x01HAZARD\x01"})
        raw = raw.replace('"\\u0001HAZARD\\u0001"', hazard)
    data = raw.encode()
    if draw(st.integers(0, 15)) == 0:
        data = data[:-1] + b"\xff}"  # bad UTF-8
    return data


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in TABLES)


@pytest.fixture
def world(manager):
    lead = LeadFactory(email="ann@example.com")
    goal = Goal.objects.create(name="MQLs", metric="mqls", target=10, period="2026-11")
    client = client_for(manager, scopes=["ingest", "read", "write"])
    return client, {"lead": lead.pk, "goal": goal.pk}


FUZZ = settings(
    max_examples=160,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_no_body_makes_a_write_endpoint_answer_5xx_or_write_half(world, data):
    client, ids = world
    method, path, fields = data.draw(st.sampled_from(ENDPOINTS))
    body = data.draw(bodies(fields))
    before = counts()
    response = client.generic(method.upper(), path.format(**ids), body, content_type="application/json")
    assert response.status_code < 500, (path, body, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert counts() == before, (path, body, response.status_code)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_a_batch_stores_exactly_its_good_items(world, data):
    client, _ = world
    path, key, fields = data.draw(st.sampled_from(BATCHES))
    items = data.draw(st.lists(st.one_of(payloads(fields), json_values), min_size=1, max_size=4))
    raw = json.dumps({key: items})
    if data.draw(st.booleans()):
        raw = raw.replace('"ann@example.com"', '"ann@example.com", "x": 1e400', 1)
    table = Lead if key == "leads" else Activity
    before = table.objects.count()
    response = client.generic("POST", path, raw.encode(), content_type="application/json")
    assert response.status_code < 500, (raw, response.content[:300])
    if response.status_code == 200:
        body = response.json()
        assert len(body["results"]) == len(items)
        assert table.objects.count() - before == body["created"]
        assert body["created"] + body["updated"] + body["errors"] == len(items)
    else:
        assert table.objects.count() == before


@settings(FUZZ, max_examples=60)
@given(
    path=st.sampled_from(
        [
            "/api/v1/leads/",
            "/api/v1/activities/",
            "/api/v1/goals/",
            "/api/v1/leads/{lead}/timeline/",
            "/queue/",
            "/pipeline/",
            "/leads/",
            "/kpis/refresh/status/",
        ]
    ),
    name=st.sampled_from(["updated_since", "occurred_since", "page", "page_size", "rep", "metric", "since"]),
    value=st.one_of(text, tricky_strings),
)
def test_no_query_parameter_makes_a_list_or_page_answer_5xx(world, manager, client, path, name, value):
    api, ids = world
    client.force_login(manager)
    caller = api if path.startswith("/api/") else client
    params = {name: value, "period": "2026-11"} if "refresh" in path else {name: value}
    # TRICKY: a query string carries UTF-8; a lone surrogate cannot reach a real server, so it stands in
    # as the replacement character Django decodes broken percent-escapes to.
    params = {k: v.encode("utf-8", "replace").decode() for k, v in params.items()}
    response = caller.get(path.format(**ids), params)
    assert response.status_code < 500, (path, params, response.content[:300])
