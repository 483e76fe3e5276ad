"""The incremental path (Python) and the full path (SQL on PostgreSQL) must agree exactly.

Hypothesis generates rule sets, leads and activity histories; both paths score the same leads at the same
``now`` and must write the same score, fit, engagement, grade and breakdown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Activity, ActivityType, Lead, Persona
from scoring import rescore, scoring, scoring_sql
from scoring.models import ScoreChange, ScoringModel
from scoring.rules import compile_model
from tests.conftest import needs_postgres

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# Mixed case, non-ASCII letters whose case rules differ between Python and databases, and near-misses.
WORDS = [
    "director",
    "Director of IT",
    "DIRECTOR",
    "student",
    "Stúdent",
    "İntern",
    "STRASSE",
    "straße",
    "vp",
    "ops",
]
DOMAINS = ["gmail.com", "GMail.com", "acme.example", "gmx.de", "web.de", "nordwind.example"]
SENIORITIES = ["", "c_level", "vp", "director", "manager", "individual", "other"]
TEXT_FIELDS = [
    "seniority",
    "job_title",
    "company",
    "industry",
    "country",
    "persona",
    "email_domain",
    "source",
]
TYPES = list(ActivityType.values)

words = st.sampled_from(WORDS + SENIORITIES[1:] + DOMAINS + ["DE", "de", "ops-leader"])
points = st.integers(min_value=-50, max_value=50)


@st.composite
def fit_rules(draw):
    field = draw(st.sampled_from([*TEXT_FIELDS, "company_size", "is_decision_maker", "free_mail", "consent"]))
    label = draw(st.sampled_from(["Senior", "Student", "Big company", "Free mail", "Market"]))
    if field in ("is_decision_maker", "free_mail", "consent"):
        return {"field": field, "operator": "is_true", "value": True, "points": draw(points), "label": label}
    if field == "company_size":
        operator = draw(st.sampled_from(["eq", "in", "gte", "lte"]))
        sizes = st.integers(min_value=1, max_value=2000)
        value = draw(st.lists(sizes, min_size=1, max_size=4)) if operator == "in" else draw(sizes)
    else:
        operator = draw(st.sampled_from(["eq", "in", "contains"]))
        value = draw(st.lists(words, min_size=1, max_size=4)) if operator == "in" else draw(words)
    return {"field": field, "operator": operator, "value": value, "points": draw(points), "label": label}


@st.composite
def models(draw):
    types = draw(st.lists(st.sampled_from(TYPES), unique=True, max_size=6))
    bands = sorted(draw(st.lists(st.integers(-40, 80), min_size=3, max_size=3)), reverse=True)
    return {
        "fit_rules": draw(st.lists(fit_rules(), max_size=8)),
        "engagement_rules": [
            {
                "activity_type": t,
                "points": draw(st.integers(0, 100)),
                "max_per_30_days": draw(st.integers(1, 4)),
            }
            for t in types
        ],
        "engagement_half_life_days": draw(
            st.floats(min_value=0.5, max_value=400, allow_nan=False, allow_infinity=False)
        ),
        "grade_bands": {"A": bands[0], "B": bands[1], "C": bands[2]},
    }


leads_strategy = st.fixed_dictionaries(
    {
        "local": st.sampled_from(["ann", "Bob", "kid"]),
        "domain": st.sampled_from(DOMAINS),
        "seniority": st.sampled_from(SENIORITIES),
        "job_title": st.sampled_from(["", *WORDS]),
        "company": st.sampled_from(["", *WORDS]),
        "industry": st.sampled_from(["", "software", "Ops"]),
        "country": st.sampled_from(["", "DE", "US"]),
        "source": st.sampled_from(["", "web", "outbound"]),
        "company_size": st.one_of(st.none(), st.integers(1, 2000)),
        "is_decision_maker": st.sampled_from([None, True, False]),
        "consent": st.sampled_from([None, True, False]),
        "persona": st.sampled_from([None, "ops-leader", "student"]),
        # (type, age in microseconds): up to about 400 days back, a few a little in the future.
        "activities": st.lists(
            st.tuples(st.sampled_from(TYPES), st.integers(-(10**7), 400 * 86_400 * 10**6)), max_size=14
        ),
    }
)


def _create(leads_data: list[dict], model_fields: dict) -> list[int]:
    Lead.objects.all().delete()
    ScoringModel.objects.all().delete()
    ScoringModel.objects.create(version=3, status="active", mql_threshold=50, min_grade="C", **model_fields)
    personas = {
        slug: Persona.objects.get_or_create(slug=slug, defaults={"name": slug})[0]
        for slug in ("ops-leader", "student")
    }
    ids = []
    for n, data in enumerate(leads_data):
        lead = Lead.objects.create(
            email=f"{data['local']}{n}@{data['domain']}".lower()
            if n % 2
            else f"{data['local']}{n}@{data['domain']}",
            seniority=data["seniority"],
            job_title=data["job_title"],
            company=data["company"],
            industry=data["industry"],
            country=data["country"],
            source=data["source"],
            company_size=data["company_size"],
            is_decision_maker=data["is_decision_maker"],
            consent=data["consent"],
            persona=personas.get(data["persona"]),
            created_at=NOW,
            updated_at=NOW,
        )
        Activity.objects.bulk_create(
            Activity(lead=lead, type=type_, occurred_at=NOW - timedelta(microseconds=age))
            for type_, age in data["activities"]
        )
        ids.append(lead.pk)
    return ids


def _scores(ids: list[int]) -> dict[int, tuple]:
    return {
        row[0]: row[1:]
        for row in Lead.objects.filter(pk__in=ids).values_list(
            "pk", "score", "fit_score", "engagement_score", "grade", "score_breakdown", "scoring_version"
        )
    }


def _forget_scores() -> None:
    Lead.objects.update(
        score=0, fit_score=0, engagement_score=0, grade="D", score_breakdown=[], scored_at=None
    )
    ScoreChange.objects.all().delete()


def _check_breakdowns_sum_to_scores(scores: dict[int, tuple]) -> None:
    for score, fit, engagement, _grade, breakdown, _version in scores.values():
        assert score == fit + engagement
        assert sum(line["points"] for line in breakdown) == score


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@needs_postgres
@SETTINGS
@given(model_fields=models(), leads_data=st.lists(leads_strategy, min_size=1, max_size=4))
def test_the_sql_full_path_agrees_exactly_with_the_python_incremental_path(db, model_fields, leads_data):
    ids = _create(leads_data, model_fields)
    scoring.score_leads(lead_ids=ids, now=NOW)
    incremental = _scores(ids)
    history = ScoreChange.objects.count()
    _forget_scores()
    compiled = compile_model(ScoringModel.objects.get())
    with transaction.atomic():
        scoring_sql.score_leads_sql(model=compiled, now=NOW, reason="full", lo=min(ids), hi=max(ids))
    assert _scores(ids) == incremental
    assert ScoreChange.objects.count() == history == len(ids)
    _check_breakdowns_sum_to_scores(incremental)


@SETTINGS
@given(model_fields=models(), leads_data=st.lists(leads_strategy, min_size=1, max_size=4))
def test_a_full_run_agrees_exactly_with_the_incremental_path(db, model_fields, leads_data):
    ids = _create(leads_data, model_fields)
    scoring.score_leads(lead_ids=ids, now=NOW)
    incremental = _scores(ids)
    _forget_scores()
    rescore.rescore_all(reason="test", now=NOW, id_span=2)
    assert _scores(ids) == incremental
    _check_breakdowns_sum_to_scores(incremental)
