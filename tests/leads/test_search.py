"""The lead search: what it finds, the same on both databases."""

from __future__ import annotations

import pytest

from leads.filters import LeadFilter
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def found(search: str) -> list[str]:
    """The e-mails of the leads the list's search finds, in e-mail order."""
    queryset = LeadFilter({"search": search}, queryset=Lead.objects.all()).qs
    return sorted(queryset.values_list("email", flat=True))


@pytest.mark.parametrize(
    ("field", "term"),
    [("email", "NAVY.example"), ("first_name", "grac"), ("last_name", "HOPP"), ("company", "labs")],
)
def test_the_search_finds_a_lead_by_each_searched_field(field, term):
    LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy Labs")
    LeadFactory(email="alan@bletchley.example", first_name="Alan", last_name="Turing", company="Bletchley")
    assert found(term) == ["grace@navy.example"]


def test_every_term_of_a_search_must_match_some_field():
    LeadFactory(email="grace@navy.example", first_name="Grace", last_name="Hopper", company="Navy Labs")
    LeadFactory(email="gary@navy.example", first_name="Gary", last_name="Other", company="Navy Labs")
    assert found("navy grace") == ["grace@navy.example"]
    assert found("navy labs") == ["gary@navy.example", "grace@navy.example"]
    assert found("grace turing") == []


@pytest.mark.parametrize(
    ("term", "match"),
    [("100%", "pure@x.example"), ("a_b", "a_b@x.example"), ("c\\d", "back@x.example")],
)
def test_wildcards_in_a_term_are_matched_literally(term, match):
    LeadFactory(email="pure@x.example", company="100% Pure")
    LeadFactory(email="plain@x.example", company="1000 Pure")
    LeadFactory(email="a_b@x.example", company="Underscore")
    LeadFactory(email="axb@x.example", company="Cross")
    LeadFactory(email="back@x.example", company="c\\d")
    LeadFactory(email="cxd@x.example", company="cd")
    assert found(term) == [match]


def test_a_term_never_matches_across_two_fields():
    LeadFactory(email="lee@x.example", first_name="Pat", last_name="Lee", company="Acme")
    assert found("leeacme") == []
    assert found("patlee") == []
    assert found("lee acme") == ["lee@x.example"]
