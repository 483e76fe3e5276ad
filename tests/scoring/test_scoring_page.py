from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from leads.models import Lead, Stage, Transition
from scoring.models import ScoringModel, ScoringRun
from scoring.report import calibration
from scoring.tasks import rescore_all_task
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
TO_WON = ("inquiry", "mql", "sal", "sql", "opportunity", "won")
TO_SQL = ("inquiry", "mql", "sal", "sql")
TO_SAL = ("inquiry", "mql", "sal")


def lead_through(*slugs: str, score: int) -> Lead:
    """A lead with ``score`` that entered these stages one after another and is now in the last one."""
    lead = LeadFactory(score=score, stage=slugs[-1])
    stages = Stage.objects.in_bulk(slugs, field_name="slug")
    previous = None
    for hours, slug in enumerate(slugs):
        Transition.objects.create(
            lead=lead, from_stage=previous, to_stage=stages[slug], at=START + timedelta(hours=hours)
        )
        previous = stages[slug]
    return lead


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def propose_form(**overrides) -> dict:
    active = ScoringModel.objects.get(status="active")
    data = {
        "mql_threshold": "65",
        "min_grade": "B",
        "engagement_half_life_days": "30",
        "band_a": "40",
        "band_b": "25",
        "band_c": "10",
        "note": "Raise the bar a little",
        "fit-TOTAL_FORMS": str(len(active.fit_rules)),
        "fit-INITIAL_FORMS": str(len(active.fit_rules)),
        "engagement-TOTAL_FORMS": str(len(active.engagement_rules)),
        "engagement-INITIAL_FORMS": str(len(active.engagement_rules)),
    }
    for i, rule in enumerate(active.fit_rules):
        value = rule["value"]
        data.update(
            {
                f"fit-{i}-field": rule["field"],
                f"fit-{i}-operator": rule["operator"],
                f"fit-{i}-value": ", ".join(value) if isinstance(value, list) else str(value),
                f"fit-{i}-points": str(rule["points"]),
                f"fit-{i}-label": rule["label"],
            }
        )
    for i, rule in enumerate(active.engagement_rules):
        data.update(
            {
                f"engagement-{i}-activity_type": rule["activity_type"],
                f"engagement-{i}-points": str(rule["points"]),
                f"engagement-{i}-max_per_30_days": str(rule["max_per_30_days"]),
            }
        )
    data.update(overrides)
    return data


def test_the_page_states_the_active_model_in_plain_words(rep):
    response = browser_for(rep).get("/scoring/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Director or above: +20" in html
    assert "Free-mail address: \u221215" in html
    assert "Demo requested: +30 each, at most 2 per 30 days, halving every 30 days" in html
    assert "score of 60 or more" in html


def test_the_page_needs_a_login_and_a_team(nobody, client):
    assert client.get("/scoring/").status_code == 302
    assert browser_for(nobody).get("/scoring/").status_code == 403


def test_the_page_runs_a_constant_number_of_queries(rep, django_assert_max_num_queries):
    for n in range(30):
        lead = lead_through(*[("inquiry",), TO_SAL, TO_SQL, TO_WON][n % 4], score=n * 4)
        Lead.objects.filter(pk=lead.pk).update(grade="ABCD"[n % 4])
    ScoringRun.objects.create(
        model_version=1,
        reason="test",
        total=30,
        done=10,
        started_at="2026-11-01T00:00Z",
        updated_at="2026-11-01T00:00Z",
    )
    browser = browser_for(rep)
    with django_assert_max_num_queries(10):
        response = browser.get("/scoring/")
    html = response.content.decode()
    assert 'class="seg seg-A"' in html
    assert "10 / 30 leads (33%)" in html


def test_calibration_counts_leads_that_reached_each_milestone_by_band(rep):
    lead_through(*TO_WON, score=85)
    lead_through(*TO_SQL, score=90)
    lead_through("inquiry", score=81)
    lead_through(*TO_SAL, score=5)

    rows = {row["band"]: row for row in calibration()}
    assert (rows["80+"]["total"], rows["80+"]["sal"], rows["80+"]["sql"], rows["80+"]["won"]) == (3, 2, 2, 1)
    assert (rows["under 20"]["total"], rows["under 20"]["sal"]) == (1, 1)


def test_calibration_counts_a_lead_that_went_on_to_lost_as_having_reached_sal(rep):
    lead_through("inquiry", "mql", "sal", "lost", score=45)
    lead_through("inquiry", "mql", "nurture", score=50)

    rows = {row["band"]: row for row in calibration()}
    band = rows["40\u201359"]
    assert (band["total"], band["sal"], band["sql"], band["won"]) == (2, 1, 0, 0)
    assert band["sal_rate"] == 0.5
    assert all(row["sal"] == 0 for name, row in rows.items() if name != "40\u201359")


def test_proposing_and_approving_through_the_page_activates_the_draft(
    marketer, rep, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        rescore_all_task, "apply_async", lambda args, kwargs, **options: queued.append(kwargs)
    )
    response = browser_for(marketer).post("/scoring/propose/", propose_form())
    assert response.status_code == 302
    draft = ScoringModel.objects.get(status="draft")
    assert (draft.mql_threshold, draft.proposed_by, draft.fit_rules) == (
        65,
        marketer,
        ScoringModel.objects.get(version=1).fit_rules,
    )
    page = browser_for(rep).get("/scoring/").content.decode()
    assert "MQL threshold" in page
    assert f"Approve v{draft.version} for sales" in page
    assert draft.approved_by_marketing == marketer
    with django_capture_on_commit_callbacks(execute=True):
        response = browser_for(rep).post(f"/scoring/{draft.version}/approve/")
    assert response.url == "/scoring/#scoring-run"
    draft.refresh_from_db()
    assert draft.status == "active"
    assert queued == [{"reason": f"activation of v{draft.version}"}]


def test_an_invalid_proposal_shows_the_form_again_with_the_problem(marketer):
    response = browser_for(marketer).post("/scoring/propose/", propose_form(band_a="0", band_b="25"))
    assert response.status_code == 400
    assert "grade_bands" in response.content.decode()
    assert not ScoringModel.objects.filter(status="draft").exists()
