"""The duplicates page (managers) and the "Possible duplicates" section of a lead's page."""

from __future__ import annotations

import pytest

from leads.ingest import upsert_leads
from leads.models import Lead
from tests.alignment.pipeline import at, handoff, journey

pytestmark = pytest.mark.django_db


def ingest(**fields) -> Lead:
    return Lead.objects.get(pk=upsert_leads(items=[fields]).lead_ids[0])


@pytest.fixture
def pair():
    first = ingest(
        email="kim@acme.com", first_name="Kim", last_name="Park", company="Acme", phone="+14155550100"
    )
    second = ingest(
        email="kpark@gmail.com", first_name="Kim", last_name="Park", company="ACME Inc.", job_title="CTO"
    )
    return first, second


def test_a_manager_sees_likely_pairs_with_reasons_and_merges_one(
    client, manager, pair, django_assert_max_num_queries
):
    first, second = pair
    ingest(email="x@acme.com", phone="+1 415 555 0100")
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        response = client.get("/leads/duplicates/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 likely pairs" in html
    assert "Same name and company" in html
    assert "Same phone number" in html
    merged = client.post(f"/leads/{first.pk}/merge/", {"other": second.pk})
    assert merged.status_code == 302
    assert merged["Location"] == f"/leads/{first.pk}/"
    assert not Lead.objects.filter(pk=second.pk).exists()
    assert Lead.objects.get(pk=first.pk).job_title == "CTO"
    page = client.get(f"/leads/{first.pk}/").content.decode()
    assert "kpark@gmail.com" in page  # the merge note on the timeline


def test_the_csv_download_lists_the_pairs(client, manager, pair):
    client.force_login(manager)
    response = client.get("/leads/duplicates/?format=csv")
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].lstrip("\ufeff") == "lead,email,other_lead,other_email,reasons"
    assert "kim@acme.com" in text
    assert "kpark@gmail.com" in text


def test_a_refused_merge_shows_why(client, manager, rep):
    waiting = journey(created=at(11, 1), email="w@x.com").to("mql", at(11, 2)).lead
    handoff(waiting, rep, assigned=at(11, 2), due=at(11, 3))
    other = ingest(email="o@x.com")
    client.force_login(manager)
    response = client.post(f"/leads/{other.pk}/merge/", {"other": waiting.pk, "back": "detail"}, follow=True)
    assert "waiting in a hand-off" in response.content.decode()
    assert Lead.objects.filter(pk=waiting.pk).exists()


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_managers_see_the_list_and_merge(client, request, who, pair):
    first, second = pair
    client.force_login(request.getfixturevalue(who))
    assert client.get("/leads/duplicates/").status_code == 403
    assert client.post(f"/leads/{first.pk}/merge/", {"other": second.pk}).status_code == 403
    assert Lead.objects.filter(pk=second.pk).exists()


def test_the_lead_page_shows_possible_duplicates_and_a_merge_button_for_managers(
    client, manager, marketer, pair
):
    first, _second = pair
    client.force_login(marketer)
    html = client.get(f"/leads/{first.pk}/").content.decode()
    assert "Possible duplicates" in html
    assert "kpark@gmail.com" in html
    assert "Merge into this lead" not in html
    client.force_login(manager)
    assert "Merge into this lead" in client.get(f"/leads/{first.pk}/").content.decode()
    lonely = ingest(email="lonely@x.com")
    assert "Possible duplicates" not in client.get(f"/leads/{lonely.pk}/").content.decode()
