"""Every API list pages in a total order (the sort key, then id): each row exactly once, both ways."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from alignment.models import Goal
from leads.models import Activity, Lead, Note, Stage, Transition
from tests.conftest import client_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

ONE_MOMENT = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)


def walk(client, url: str, params: dict) -> tuple[list[int], list[int]]:
    """The ids of every page following ``next`` to the end, then following ``previous`` back."""
    forwards, pages = [], []
    page = client.get(url, params).json()
    assert page["previous"] is None
    while True:
        pages.append(page)
        forwards += [row["id"] for row in page["results"]]
        if page["next"] is None:
            break
        page = client.get(page["next"]).json()
    backwards = [row["id"] for row in reversed(page["results"])]
    while page["previous"] is not None:
        page = client.get(page["previous"]).json()
        backwards += [row["id"] for row in reversed(page["results"])]
    assert len(pages) > 2
    return forwards, backwards


def expected(queryset, ordering: str) -> list[int]:
    sign = "-" if ordering.startswith("-") else ""
    return list(queryset.order_by(ordering, f"{sign}id").values_list("id", flat=True))


def bulk_leads(count: int, *, score_of=lambda i: 0) -> None:
    Lead.objects.bulk_create(
        Lead(
            email=f"lead{i}@example.com",
            stage_id="inquiry",
            score=score_of(i),
            created_at=ONE_MOMENT,
            updated_at=ONE_MOMENT,
        )
        for i in range(count)
    )


@pytest.mark.parametrize("ordering", ["-created_at", "created_at", "-updated_at", "updated_at"])
def test_a_thousand_leads_with_one_timestamp_each_appear_once_forwards_and_backwards(marketer, ordering):
    bulk_leads(1000)
    forwards, backwards = walk(
        client_for(marketer), "/api/v1/leads/", {"ordering": ordering, "page_size": 90}
    )
    assert forwards == expected(Lead.objects.all(), ordering)
    assert backwards == forwards[::-1]


@pytest.mark.parametrize("ordering", ["-score", "score", "-created_at", "updated_at"])
def test_two_thousand_leads_with_five_scores_each_appear_once_forwards_and_backwards(marketer, ordering):
    bulk_leads(2000, score_of=lambda i: (i * 7) % 5 * 10)
    forwards, backwards = walk(
        client_for(marketer), "/api/v1/leads/", {"ordering": ordering, "page_size": 300}
    )
    assert len(set(forwards)) == 2000
    assert forwards == expected(Lead.objects.all(), ordering)
    assert backwards == forwards[::-1]


def test_the_lead_list_keeps_its_filters_across_pages(marketer):
    bulk_leads(300, score_of=lambda i: i % 3)
    forwards, _ = walk(client_for(marketer), "/api/v1/leads/", {"min_score": 2, "page_size": 40})
    assert forwards == expected(Lead.objects.filter(score__gte=2), "-created_at")


def test_activities_at_one_moment_each_appear_once(marketer):
    lead = LeadFactory()
    Activity.objects.bulk_create(
        Activity(lead=lead, type="page_view", occurred_at=ONE_MOMENT) for _ in range(1000)
    )
    forwards, backwards = walk(client_for(marketer), "/api/v1/activities/", {"page_size": 150})
    assert forwards == expected(Activity.objects.all(), "-occurred_at")
    assert backwards == forwards[::-1]


def test_transitions_at_one_moment_each_appear_once(marketer):
    lead = LeadFactory()
    inquiry = Stage.objects.get(slug="inquiry")
    Transition.objects.bulk_create(Transition(lead=lead, to_stage=inquiry, at=ONE_MOMENT) for _ in range(250))
    url = f"/api/v1/leads/{lead.pk}/transitions/"
    forwards, backwards = walk(client_for(marketer), url, {"page_size": 100})
    assert forwards == expected(Transition.objects.filter(lead=lead), "-at")
    assert backwards == forwards[::-1]


def test_the_timeline_pages_through_ties_across_its_sources(marketer):
    lead = LeadFactory()
    inquiry = Stage.objects.get(slug="inquiry")
    Activity.objects.bulk_create(Activity(lead=lead, type="call", occurred_at=ONE_MOMENT) for _ in range(70))
    Transition.objects.bulk_create(Transition(lead=lead, to_stage=inquiry, at=ONE_MOMENT) for _ in range(40))
    notes = Note.objects.bulk_create(Note(lead=lead, author=marketer, body=f"n{i}") for i in range(30))
    Note.objects.filter(pk__in=[n.pk for n in notes]).update(created_at=ONE_MOMENT)
    Activity.objects.create(lead=lead, type="call", occurred_at=ONE_MOMENT + timedelta(seconds=1))
    client = client_for(marketer)
    url = f"/api/v1/leads/{lead.pk}/timeline/"
    seen, pages = [], []
    page = client.get(url, {"page_size": 17}).json()
    while True:
        pages.append(page)
        seen += [(item["type"], item["id"]) for item in page["results"]]
        if page["next"] is None:
            break
        page = client.get(page["next"]).json()
    every = (
        [("activity", a) for a in Activity.objects.filter(lead=lead).values_list("id", flat=True)]
        + [("transition", t) for t in Transition.objects.filter(lead=lead).values_list("id", flat=True)]
        + [("note", n) for n in Note.objects.filter(lead=lead).values_list("id", flat=True)]
    )
    assert sorted(seen) == sorted(every)
    assert len(seen) == len(set(seen))
    assert seen[0] == ("activity", Activity.objects.latest("occurred_at").pk)
    # At one moment: transitions, then notes, then activities, each newest id first.
    tied = seen[1:]
    assert (
        tied
        == sorted(tied, key=lambda item: (["activity", "note", "transition"].index(item[0]), item[1]))[::-1]
    )
    back = []
    while page["previous"] is not None:
        back = [(item["type"], item["id"]) for item in page["results"]] + back
        page = client.get(page["previous"]).json()
    assert [(item["type"], item["id"]) for item in page["results"]] + back == seen


def test_goals_page_in_period_then_id(manager):
    Goal.objects.bulk_create(
        Goal(name=f"G{i}", metric="mqls", target=10, period="2026-11" if i % 2 else "2026-10")
        for i in range(230)
    )
    forwards, backwards = walk(client_for(manager), "/api/v1/goals/", {"page_size": 100})
    assert forwards == expected(Goal.objects.all(), "period")
    assert backwards == forwards[::-1]


def forged(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        "é",
        forged(["x", 1, "n"]),  # text where a time belongs
        forged([{"dt": "0001-01-01T00:00:00+14:00"}, 1, "n"]),
        forged([{"dt": "2026-01-01T00:00:00"}, 1, "n"]),  # naive
        forged([{"dt": "2026-01-01T00:00:00+00:00"}, 2**70, "n"]),
        forged([{"dt": "2026-01-01T00:00:00+00:00"}, 1, "sideways"]),
        forged([[[[[]]]], 1, "n"]),
        forged(1),
        "W" * 5000,
    ],
)
def test_a_forged_cursor_is_a_400_naming_it_on_every_list(marketer, cursor):
    lead = LeadFactory()
    client = client_for(marketer)
    lists = ["/api/v1/leads/", "/api/v1/activities/", f"/api/v1/leads/{lead.pk}/transitions/"]
    lists.append(f"/api/v1/leads/{lead.pk}/timeline/")
    if cursor != forged(["x", 1, "n"]):  # text is a position among goals, which sort by period
        lists.append("/api/v1/goals/")
    for url in lists:
        response = client.get(url, {"cursor": cursor})
        assert response.status_code == 400, url
        assert response["Content-Type"] == "application/problem+json"
        assert "cursor" in response.json()["errors"]


def test_a_cursor_from_another_ordering_is_a_400_not_a_wrong_page(marketer):
    bulk_leads(60)
    client = client_for(marketer)
    cursor = client.get("/api/v1/leads/", {"page_size": 10}).json()["next"].split("cursor=")[1]
    assert client.get("/api/v1/leads/", {"ordering": "score", "cursor": cursor}).status_code == 400


@pytest.mark.parametrize(
    "params", [{"ordering": "email"}, {"page_size": "0"}, {"page_size": "501"}, {"page_size": "١٢"}]
)
def test_an_unknown_ordering_or_page_size_is_a_400(marketer, params):
    response = client_for(marketer).get("/api/v1/leads/", params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(params)


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/leads/", {"min_score": "0.5"}),
        ("/api/v1/leads/", {"owner": "1e300"}),
        ("/api/v1/leads/", {"updated_since": ""}),
        ("/api/v1/activities/", {"lead": "-2.0e+216"}),
        ("/api/v1/leads/", {"grade": ""}),
        ("/api/v1/activities/", {"occurred_since": ""}),
        ("/api/v1/activities/", {"type": ""}),
    ],
)
def test_list_filters_refuse_what_the_schema_refuses(marketer, url, params):
    response = client_for(marketer).get(url, params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(params)


def test_the_lead_list_page_still_reads_an_empty_grade_as_any(client, marketer):
    LeadFactory(grade="B")
    client.force_login(marketer)
    response = client.get("/leads/", {"grade": "", "search": ""})
    assert response.status_code == 200
    assert len(response.context["leads"]) == 1
