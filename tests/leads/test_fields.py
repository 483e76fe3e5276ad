"""The lead's fields are declared once (leads.fields); the API, the payload, the CSV files derive from it."""

from __future__ import annotations

import csv
import io

import pytest

from leads.api import LeadDetailSerializer, LeadSerializer
from leads.csv_import import FIELD_CHOICES
from leads.fields import EXPORT_COLUMNS, LEAD_FIELDS, READ_ONLY_NAMES, WRITABLE_FIELDS
from leads.ingest_sql import NEW_LEAD_DEFAULTS, WRITABLE_COLUMNS
from leads.schemas import LeadIn, LeadPatch, validate_lead
from tests.factories import LeadFactory, PersonaFactory

# API.md, "Leads": the contract.
API_WRITABLE = [
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "seniority",
    "is_decision_maker",
    "company_size",
    "industry",
    "country",
    "phone",
    "persona",
    "campaign",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "external_id",
    "consent",
    "attributes",
]
API_READ_ONLY = [
    "id",
    "score",
    "fit_score",
    "engagement_score",
    "grade",
    "stage",
    "owner",
    "sla_due_at",
    "created_at",
    "updated_at",
]


def test_the_writable_fields_are_those_api_md_lists():
    assert [field.name for field in WRITABLE_FIELDS] == API_WRITABLE
    assert list(LeadIn.model_fields) == API_WRITABLE
    assert list(LeadPatch.model_fields) == API_WRITABLE


def test_answers_show_every_field_and_the_detail_adds_the_breakdown():
    assert set(LeadSerializer.Meta.fields) == set(API_WRITABLE) | set(API_READ_ONLY)
    assert LeadDetailSerializer.Meta.fields == [*LeadSerializer.Meta.fields, "score_breakdown"]


def test_every_read_only_field_is_named_as_such_in_a_write():
    assert set(API_READ_ONLY) | {"score_breakdown", "scored_at"} == READ_ONLY_NAMES
    _, errors = validate_lead({"email": "a@example.com", "scored_at": "2026-01-01", "stage": "won"})
    assert errors == {"scored_at": ["This field is read-only."], "stage": ["This field is read-only."]}


def test_columns_and_lengths_come_from_the_model():
    assert LEAD_FIELDS["persona"].column == "persona_id"
    assert LEAD_FIELDS["stage"].column == "stage"
    assert (LEAD_FIELDS["first_name"].max_length, LEAD_FIELDS["phone"].max_length) == (100, 40)
    assert LEAD_FIELDS["campaign"].max_length == 60  # the campaign's slug
    assert "persona_id" in WRITABLE_COLUMNS
    assert "persona" not in WRITABLE_COLUMNS


@pytest.mark.parametrize(("name", "length"), [("first_name", 100), ("company", 200), ("phone", 40)])
def test_the_payload_refuses_text_longer_than_its_column(name, length):
    assert validate_lead({"email": "a@example.com", name: "x" * length})[1] == {}
    _, errors = validate_lead({"email": "a@example.com", name: "x" * (length + 1)})
    assert list(errors) == [name]


def test_a_new_lead_starts_with_the_models_defaults():
    assert NEW_LEAD_DEFAULTS["stage"] == "inquiry"
    assert NEW_LEAD_DEFAULTS["grade"] == "D"
    assert type(NEW_LEAD_DEFAULTS["grade"]) is str
    assert (NEW_LEAD_DEFAULTS["score"], NEW_LEAD_DEFAULTS["attributes"], NEW_LEAD_DEFAULTS["owner_id"]) == (
        0,
        {},
        None,
    )


def test_the_import_mapping_offers_every_writable_field_a_cell_can_hold():
    assert [name for name, _ in FIELD_CHOICES] == [name for name in API_WRITABLE if name != "attributes"]
    labels = dict(FIELD_CHOICES)
    assert labels["persona"] == "Persona (slug)"
    assert labels["email"] == "E-mail"


def test_kinds_tell_scoring_what_a_rule_compares():
    assert LEAD_FIELDS["company_size"].value_type == "number"
    assert LEAD_FIELDS["consent"].value_type == "bool"
    assert LEAD_FIELDS["persona"].value_type == "text"
    assert LEAD_FIELDS["attributes"].value_type is None


@pytest.mark.django_db
def test_the_csv_download_has_the_declared_columns(client, marketer):
    LeadFactory(email="ann@example.com", persona=PersonaFactory(slug="ops"), company_size=12)
    client.force_login(marketer)
    response = client.get("/leads/", {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(body)))
    assert header == [name for name, _ in EXPORT_COLUMNS]
    values = dict(zip(header, row, strict=True))
    assert (values["email"], values["persona"], values["company_size"], values["stage"]) == (
        "ann@example.com",
        "ops",
        "12",
        "inquiry",
    )


def test_a_batch_validated_in_one_pass_judges_each_item_as_alone():
    from leads.schemas import validate_leads

    items = [
        {"email": "Ann@Example.com ", "seniority": "vp", "company_size": 40, "attributes": {"a": [1]}},
        "not an object",
        {"email": "no-at-sign", "first_name": "x\x00"},
        {"email": "b@example.com", "score": 99},
        {"email": "b@example.com", "score": 99, "country": "XX"},
        {"email": "c@example.com", "seniority": None, "unknown": 1},
        {"email": "d@example.com", "seniority": None, "is_decision_maker": False},
        {"email": "e\u200b@example.com"},
    ]
    valid, errors = validate_leads(items)
    alone = [validate_lead(item) for item in items]
    assert valid == {i: cleaned for i, (cleaned, _) in enumerate(alone) if cleaned is not None}
    assert errors == {i: errs for i, (cleaned, errs) in enumerate(alone) if cleaned is None}
    assert sorted(valid) == [0, 6]
    assert valid[0] == {
        "email": "ann@example.com",
        "seniority": "vp",
        "company_size": 40,
        "attributes": {"a": [1]},
    }
    assert valid[6] == {"email": "d@example.com", "seniority": "", "is_decision_maker": False}
    assert errors[4] == {"score": ["This field is read-only."], "country": [errors[4]["country"][0]]}
