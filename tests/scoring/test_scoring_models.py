from __future__ import annotations

import pytest

from core.models import AuditEvent
from scoring.describe import model_diff
from scoring.models import ScoringModel
from scoring.tasks import compute_draft_impact_task, rescore_all_task
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACTIVE = "/api/v1/scoring-model/"
VERSIONS = "/api/v1/scoring-model/versions/"


def approve(user, version):
    return client_for(user).post(f"{VERSIONS}{version}/approve/", format="json")


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(rescore_all_task, "apply_async", lambda args, kwargs, **options: calls.append(kwargs))
    monkeypatch.setattr(compute_draft_impact_task, "apply_async", lambda args, kwargs, **options: None)
    return calls


def test_the_active_model_is_readable_with_its_rules(full_client):
    response = full_client.get(ACTIVE)
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1
    assert body["status"] == "active"
    assert {"field", "operator", "value", "points", "label"} == set(body["fit_rules"][0])
    assert {"activity_type", "points", "max_per_30_days"} == set(body["engagement_rules"][0])
    assert body["grade_bands"] == {"A": 40, "B": 25, "C": 10}
    assert body["approved_by"] == {"marketing": None, "sales": None}


def test_a_proposal_keeps_the_active_values_for_fields_left_out(rep):
    response = client_for(rep).post(VERSIONS, {"mql_threshold": 70}, format="json")
    assert response.status_code == 201
    body = response.json()
    active = ScoringModel.objects.get(version=1)
    assert (body["version"], body["status"], body["mql_threshold"]) == (2, "draft", 70)
    assert body["fit_rules"] == active.fit_rules
    assert body["proposed_by"] == rep.pk
    assert AuditEvent.objects.filter(
        action="scoring_model.proposed", object_id=str(ScoringModel.objects.get(version=2).pk)
    ).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mql_threshold": -1}, "mql_threshold"),
        ({"min_grade": "E"}, "min_grade"),
        ({"engagement_half_life_days": 0}, "engagement_half_life_days"),
        (
            {"fit_rules": [{"field": "shoe_size", "operator": "eq", "value": 1, "points": 1, "label": "x"}]},
            "fit_rules.0.field",
        ),
        (
            {
                "fit_rules": [
                    {"field": "company_size", "operator": "contains", "value": "1", "points": 1, "label": "x"}
                ]
            },
            "fit_rules.0.operator",
        ),
        (
            {"fit_rules": [{"field": "country", "operator": "in", "value": [], "points": 1, "label": "x"}]},
            "fit_rules.0.value",
        ),
        (
            {
                "fit_rules": [
                    {"field": "country", "operator": "eq", "value": "DE", "points": 1.5, "label": "x"}
                ]
            },
            "fit_rules.0.points",
        ),
        (
            {"fit_rules": [{"field": "country", "operator": "eq", "value": "DE", "points": 1, "label": ""}]},
            "fit_rules.0.label",
        ),
        (
            {"engagement_rules": [{"activity_type": "call", "points": 1, "max_per_30_days": 0}]},
            "engagement_rules.0.max_per_30_days",
        ),
        ({"grade_bands": {"A": 10, "B": 20, "C": 0}}, "grade_bands"),
        ({"version": 9}, "version"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_proposal_is_a_400_naming_the_field(rep, payload, field):
    response = client_for(rep).post(VERSIONS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert ScoringModel.objects.count() == 1


def test_a_draft_becomes_active_only_after_a_marketer_and_a_sales_user_approve(
    marketer, rep, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposed = client_for(marketer).post(VERSIONS, {"min_grade": "C"}, format="json")
    assert proposed.status_code == 201
    version = proposed.json()["version"]
    assert proposed.json()["status"] == "draft"
    assert proposed.json()["approved_by"] == {"marketing": marketer.pk, "sales": None}
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        second = approve(rep, version)
    assert second.status_code == 200
    assert second.json()["status"] == "active"
    assert second.json()["approved_by"] == {"marketing": marketer.pk, "sales": rep.pk}
    assert second.json()["activated_at"] is not None
    assert ScoringModel.objects.get(version=1).status == "retired"
    assert queued == [{"reason": f"activation of v{version}"}]
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "scoring_model.approved",
        "scoring_model.activated",
    }


def test_one_person_cannot_approve_for_both_teams(queued):
    both = UserFactory(username="both", roles=["marketing", "sales"])
    version = client_for(both).post(VERSIONS, {"min_grade": "C"}, format="json").json()["version"]
    again = approve(both, version)
    assert again.status_code == 409
    model = ScoringModel.objects.get(version=version)
    assert (model.status, model.approved_by_marketing, model.approved_by_sales) == ("draft", both, None)
    assert queued == []


def test_two_marketers_do_not_make_an_approval(marketer, queued):
    other = UserFactory(username="other_marketer", roles=["marketing"])
    version = client_for(marketer).post(VERSIONS, {}, format="json").json()["version"]
    assert approve(marketer, version).status_code == 409
    assert approve(other, version).status_code == 409
    assert ScoringModel.objects.get(version=version).status == "draft"


def test_a_manager_approves_for_sales(marketer, manager, queued):
    version = client_for(marketer).post(VERSIONS, {}, format="json").json()["version"]
    response = approve(manager, version)
    assert response.json()["approved_by"] == {"marketing": marketer.pk, "sales": manager.pk}
    assert response.json()["status"] == "active"


def test_approving_an_active_version_is_a_conflict_and_an_unknown_one_a_404(rep):
    assert approve(rep, 1).status_code == 409
    assert approve(rep, 99).status_code == 404


def test_people_in_no_team_and_read_only_tokens_cannot_propose(nobody, marketer):
    assert client_for(nobody).post(VERSIONS, {}, format="json").status_code == 403
    assert client_for(marketer, scopes=["read"]).post(VERSIONS, {}, format="json").status_code == 403
    assert client_for(marketer, scopes=["read"]).get(VERSIONS).status_code == 200


def test_versions_list_newest_first(rep):
    client_for(rep).post(VERSIONS, {}, format="json")
    assert [v["version"] for v in client_for(rep).get(VERSIONS).json()] == [2, 1]


def test_the_diff_names_each_change_against_the_active_version(rep):
    active = ScoringModel.objects.get(version=1)
    fit_rules = [r for r in active.fit_rules if r["label"] != "Intern"]
    fit_rules[0] = {**fit_rules[0], "points": 25}
    fit_rules.append(
        {"field": "industry", "operator": "eq", "value": "software", "points": 5, "label": "Software"}
    )
    response = client_for(rep).post(VERSIONS, {"mql_threshold": 75, "fit_rules": fit_rules}, format="json")
    draft = ScoringModel.objects.get(version=response.json()["version"])
    changes = {(c["kind"], c["what"], c["old"], c["new"]) for c in model_diff(old=active, new=draft)}
    assert ("changed", "MQL threshold", "60", "75") in changes
    assert (
        "changed",
        "Fit: Seniority is one of C-level, VP, Director",
        "Director or above: +20",
        "Director or above: +25",
    ) in changes
    assert ("added", "Fit: Industry is software", "", "Software: +5") in changes
    assert ("removed", "Fit: Job title contains intern", "Intern: \u221220", "") in changes
    assert len(changes) == 4
