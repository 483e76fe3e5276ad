"""Validation of a proposed scoring model, and the plain words the page shows for it."""

from __future__ import annotations

import pytest

from leads.models import ActivityType
from scoring.describe import describe_fit_rule, engagement_rule_sentence, fit_rule_sentence
from scoring.schemas import validate_model_changes


def fit(**overrides):
    return {
        "field": "country",
        "operator": "eq",
        "value": "DE",
        "points": 5,
        "label": "Home market",
        **overrides,
    }


def test_a_valid_proposal_comes_back_cleaned_with_only_the_fields_sent():
    clean, errors = validate_model_changes(
        {
            "engagement_half_life_days": 14,
            "note": "  tighter  ",
            "fit_rules": [
                fit(operator="in", value=[" DE ", "AT"], label=" DACH "),
                fit(field="free_mail", operator="is_true", value=None, points=-15, label="Free mail"),
                fit(field="company_size", operator="gte", value=200, points=10, label="Big"),
            ],
        }
    )
    assert errors == {}
    assert clean == {
        "engagement_half_life_days": 14.0,
        "note": "tighter",
        "fit_rules": [
            {"field": "country", "operator": "in", "value": ["DE", "AT"], "points": 5, "label": "DACH"},
            {"field": "free_mail", "operator": "is_true", "value": True, "points": -15, "label": "Free mail"},
            {"field": "company_size", "operator": "gte", "value": 200, "points": 10, "label": "Big"},
        ],
    }
    assert isinstance(clean["engagement_half_life_days"], float)


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"mql_threshold": None}, {"mql_threshold": ["Must be a whole number between 0 and 100000."]}),
        ({"mql_threshold": True}, {"mql_threshold": ["Must be a whole number between 0 and 100000."]}),
        (
            {"engagement_half_life_days": float("inf")},
            {"engagement_half_life_days": ["Must be a number of days between 0.5 and 3650."]},
        ),
        (
            {"fit_rules": [fit(), "country is DE"]},
            {"fit_rules.1": ["Expected an object with field, operator, value, points and label."]},
        ),
        (
            {"fit_rules": [fit(field="company_size", operator="in", value=[10, "20"])]},
            {"fit_rules.0.value": ["Must be a list of whole numbers."]},
        ),
        (
            {"fit_rules": [fit(field="consent", operator="is_true", value=False)]},
            {"fit_rules.0.value": ["is_true takes no value (or true)."]},
        ),
        (
            {"fit_rules": [fit(label="Tab\there")]},
            {"fit_rules.0.label": ["Must not contain control characters."]},
        ),
        ({"fit_rules": [fit(colour="red")]}, {"fit_rules.0.colour": ["Unknown field."]}),
        ({"fit_rules": {"0": fit()}}, {"fit_rules": ["Must be a list of at most 100 rules."]}),
        (
            {
                "engagement_rules": [
                    {"activity_type": "call", "points": 5, "max_per_30_days": 2},
                    {"activity_type": "call", "points": 9, "max_per_30_days": 1},
                ]
            },
            {"engagement_rules": ["Each activity type may have one rule only."]},
        ),
        (
            {"engagement_rules": [{"activity_type": "tweet", "points": 5, "max_per_30_days": 2}]},
            {"engagement_rules.0.activity_type": [f"Must be one of: {', '.join(ActivityType.values)}."]},
        ),
        (
            {"grade_bands": {"A": 40, "B": 25, "C": "10"}},
            {"grade_bands": ['Must be {"A": n, "B": n, "C": n} with whole numbers.']},
        ),
        (
            {"grade_bands": {"A": 20, "B": 25, "C": 10}},
            {"grade_bands": ["The minimum fit for A must be at least B's, and B's at least C's."]},
        ),
        (
            {"status": "active", "shoe": 1},
            {"status": ["This field is read-only."], "shoe": ["Unknown field."]},
        ),
        (["mql_threshold", 70], {"non_field_errors": ["Expected a JSON object."]}),
    ],
)
def test_an_invalid_proposal_names_each_field_with_its_message(payload, errors):
    clean, found = validate_model_changes(payload)
    assert clean == {}
    assert found == errors


def test_a_rule_reads_in_plain_words_with_seniority_labels_only_for_seniority():
    seniority = fit(field="seniority", operator="in", value=["c_level", "individual"], label="Senior")
    assert describe_fit_rule(seniority) == "Seniority is one of C-level, Individual contributor"
    assert (
        describe_fit_rule(fit(field="job_title", operator="contains", value="vp")) == "Job title contains vp"
    )
    assert describe_fit_rule(fit(field="consent", operator="is_true", value=True)) == "Consent: yes"
    assert fit_rule_sentence(fit(points=-5)) == "Home market: \u22125"
    rule = {"activity_type": "webinar_attended", "points": 12, "max_per_30_days": 3}
    assert engagement_rule_sentence(rule, 45.0) == (
        "Webinar attended: +12 each, at most 3 per 30 days, halving every 45 days"
    )
