"""Drafts of the scoring model: the proposal as the proposer's team's approval, rejection with a comment, and
the impact a draft would have if it were activated."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps as django_apps

from core.errors import Conflict, Forbidden, NotFound, ValidationProblem
from core.models import AuditEvent
from leads.models import Activity, Lead
from scoring import impact, scoring_sql
from scoring.impact import compute_draft_impact
from scoring.models import ScoringModel
from scoring.tasks import compute_draft_impact_task, rescore_all_task, sweep_draft_impacts_task
from scoring.versions import approve_scoring_model, propose_scoring_model, reject_scoring_model
from tests.conftest import client_for, needs_postgres
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

VERSIONS = "/api/v1/scoring-model/versions/"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def queued(monkeypatch):
    """Tasks sent (by name, with their arguments) instead of reaching a broker."""
    calls: list[tuple[str, tuple, dict]] = []
    for task in (rescore_all_task, compute_draft_impact_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args, kwargs, _name=task.name, **options: calls.append((_name, tuple(args), kwargs)),
        )
    return calls


def impact_calls(queued) -> list[int]:
    return [args[0] for name, args, _ in queued if name == compute_draft_impact_task.name]


# --- The proposal counts as the proposer's team's approval -----------------------------------------------


def test_a_marketers_proposal_is_the_marketing_approval(marketer, queued):
    draft = propose_scoring_model(actor=marketer, changes={"mql_threshold": 70})
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by_marketing, draft.approved_by_sales) == ("draft", marketer, None)
    assert draft.marketing_approved_at is not None
    assert draft.sales_approved_at is None
    events = AuditEvent.objects.filter(object_id=str(draft.pk)).order_by("id")
    assert [(e.action, e.data.get("side"), e.data.get("by_proposal")) for e in events] == [
        ("scoring_model.proposed", None, None),
        ("scoring_model.approved", "marketing", True),
    ]


@pytest.mark.parametrize("proposer", ["rep", "manager"])
def test_a_reps_or_managers_proposal_is_the_sales_approval_and_a_marketer_activates_it(
    request, proposer, marketer, queued, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(proposer)
    draft = propose_scoring_model(actor=user, changes={"min_grade": "C"})
    assert (draft.approved_by_marketing, draft.approved_by_sales) == (None, user)
    with django_capture_on_commit_callbacks(execute=True):
        approval = approve_scoring_model(actor=marketer, version=draft.version)
    assert (approval.side, approval.activated) == ("marketing", True)
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by_marketing, draft.approved_by_sales) == ("active", marketer, user)
    assert (rescore_all_task.name, (), {"reason": f"activation of v{draft.version}"}) in queued


def test_neither_the_proposer_nor_a_teammate_can_approve_for_the_proposers_team(rep, other_rep, queued):
    draft = propose_scoring_model(actor=rep, changes={})
    for user in (rep, other_rep):
        with pytest.raises(Conflict):
            approve_scoring_model(actor=user, version=draft.version)
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by_sales, draft.approved_by_marketing) == ("draft", rep, None)


def test_proposing_queues_the_impact_count_once_the_draft_is_committed(
    marketer, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        draft = propose_scoring_model(actor=marketer, changes={})
    assert impact_calls(queued) == []
    for callback in callbacks:
        callback()
    assert impact_calls(queued) == [draft.version]


def test_an_activation_forgets_and_recounts_the_impact_of_the_drafts_still_waiting(
    marketer, rep, queued, django_capture_on_commit_callbacks
):
    first = propose_scoring_model(actor=marketer, changes={"mql_threshold": 70})
    second = propose_scoring_model(actor=marketer, changes={"mql_threshold": 50})
    compute_draft_impact(version=second.version, now=NOW)
    assert ScoringModel.objects.get(pk=second.pk).impact_computed_at == NOW
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approve_scoring_model(actor=rep, version=first.version)
    second.refresh_from_db()
    assert (second.impact_computed_at, second.impact_leads, second.impact_based_on) == (None, None, None)
    assert impact_calls(queued) == [second.version]


# --- Rejection ---------------------------------------------------------------------------------------------


def test_a_draft_rejected_with_a_comment_records_who_when_and_why(marketer, rep, queued):
    draft = propose_scoring_model(actor=marketer, changes={"mql_threshold": 90})
    rejected = reject_scoring_model(actor=rep, version=draft.version, comment="  Far too few MQLs at 90.  ")
    stored = ScoringModel.objects.get(pk=draft.pk)
    assert (stored.status, stored.rejected_by, stored.rejection_comment) == (
        "rejected",
        rep,
        "Far too few MQLs at 90.",
    )
    assert stored.rejected_at == rejected.rejected_at is not None
    event = AuditEvent.objects.get(action="scoring_model.rejected")
    assert (event.actor, event.data) == (
        rep,
        {"version": draft.version, "comment": "Far too few MQLs at 90."},
    )


def test_a_rejected_draft_can_no_longer_be_approved(marketer, rep, queued):
    draft = propose_scoring_model(actor=marketer, changes={})
    reject_scoring_model(actor=marketer, version=draft.version, comment="Withdrawn: wrong bands.")
    with pytest.raises(Conflict, match="rejected, not a draft"):
        approve_scoring_model(actor=rep, version=draft.version)
    assert ScoringModel.objects.get(pk=draft.pk).status == "rejected"
    assert ScoringModel.objects.get(version=1).status == "active"


def test_only_drafts_can_be_rejected(marketer, rep, queued):
    with pytest.raises(Conflict):
        reject_scoring_model(actor=rep, version=1, comment="No")
    draft = propose_scoring_model(actor=marketer, changes={})
    reject_scoring_model(actor=rep, version=draft.version, comment="No")
    with pytest.raises(Conflict):
        reject_scoring_model(actor=marketer, version=draft.version, comment="Again")
    with pytest.raises(NotFound):
        reject_scoring_model(actor=rep, version=99, comment="No")
    assert ScoringModel.objects.get(version=1).status == "active"


@pytest.mark.parametrize("comment", ["", "   ", None, "a\x00b", "x" * 1001])
def test_a_rejection_needs_a_comment_of_plain_text(marketer, rep, queued, comment):
    draft = propose_scoring_model(actor=marketer, changes={})
    with pytest.raises(ValidationProblem) as caught:
        reject_scoring_model(actor=rep, version=draft.version, comment=comment)
    assert list(caught.value.errors or {}) == ["comment"]
    assert ScoringModel.objects.get(pk=draft.pk).status == "draft"


def test_people_in_no_team_cannot_reject(marketer, nobody, queued):
    draft = propose_scoring_model(actor=marketer, changes={})
    with pytest.raises(Forbidden):
        reject_scoring_model(actor=nobody, version=draft.version, comment="No")


# --- The API ---------------------------------------------------------------------------------------------


def test_reject_through_the_api_answers_the_rejected_version(marketer, manager, queued):
    version = client_for(marketer).post(VERSIONS, {}, format="json").json()["version"]
    response = client_for(manager).post(
        f"{VERSIONS}{version}/reject/", {"comment": "Not this quarter."}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "rejected"
    assert body["rejection"]["by"] == manager.pk
    assert body["rejection"]["comment"] == "Not this quarter."
    assert body["rejection"]["at"] is not None
    approve = client_for(manager).post(f"{VERSIONS}{version}/approve/", format="json")
    assert approve.status_code == 409
    assert approve["Content-Type"] == "application/problem+json"
    assert "rejected" in approve.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "comment"), ({"comment": ""}, "comment"), ({"comment": "ok", "colour": "red"}, "colour")],
)
def test_reject_through_the_api_is_a_400_naming_the_field(marketer, rep, queued, payload, field):
    version = client_for(marketer).post(VERSIONS, {}, format="json").json()["version"]
    response = client_for(rep).post(f"{VERSIONS}{version}/reject/", payload, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert ScoringModel.objects.get(version=version).status == "draft"


def test_reject_through_the_api_needs_a_team_and_a_write_token(marketer, nobody, queued):
    version = client_for(marketer).post(VERSIONS, {}, format="json").json()["version"]
    path = f"{VERSIONS}{version}/reject/"
    assert client_for(nobody).post(path, {"comment": "No"}, format="json").status_code == 403
    assert (
        client_for(marketer, scopes=["read"]).post(path, {"comment": "No"}, format="json").status_code == 403
    )
    assert (
        client_for(marketer).post(f"{VERSIONS}1/reject/", {"comment": "No"}, format="json").status_code == 409
    )
    assert (
        client_for(marketer).post(f"{VERSIONS}99/reject/", {"comment": "No"}, format="json").status_code
        == 404
    )
    assert ScoringModel.objects.get(version=version).status == "draft"


def test_the_version_detail_has_the_impact_once_computed(marketer, queued):
    # A bar of 0 with any grade: three new leads (score 0, grade D under v1 and the draft alike) rise over it.
    changes = {"mql_threshold": 0, "min_grade": "D"}
    version = client_for(marketer).post(VERSIONS, changes, format="json").json()["version"]
    LeadFactory.create_batch(3)
    detail = client_for(marketer).get(f"{VERSIONS}{version}/").json()
    assert (detail["impact"], detail["rejection"]) == (None, None)
    assert compute_draft_impact_task(version) is True
    body = client_for(marketer).get(f"{VERSIONS}{version}/").json()["impact"]
    assert body.pop("computed_at") is not None
    assert body == {"based_on": 1, "leads": 3, "grade_changes": 0, "mql_up": 3, "mql_down": 0}


# --- The impact, hand-worked -------------------------------------------------------------------------------

# The draft: software companies get 30 fit points; a demo request 10 engagement points (at most 2 per 30 days,
# halving every 30 days); grades A from 30 fit, B from 20, C from 10; MQL at 35 with grade B or better.
# The active v1's bar: 60 with grade B or better. Current scores are set by hand.
DRAFT = {
    "mql_threshold": 35,
    "min_grade": "B",
    "engagement_half_life_days": 30,
    "grade_bands": {"A": 30, "B": 20, "C": 10},
    "fit_rules": [
        {"field": "industry", "operator": "eq", "value": "software", "points": 30, "label": "Software"}
    ],
    "engagement_rules": [{"activity_type": "demo_request", "points": 10, "max_per_30_days": 2}],
}


def lead(*, industry: str, score: int, grade: str, demos_days_ago: tuple[float, ...] = ()) -> Lead:
    made = LeadFactory(industry=industry)
    Lead.objects.filter(pk=made.pk).update(score=score, grade=grade, scored_at=NOW - timedelta(days=1))
    for days in demos_days_ago:
        Activity.objects.create(lead=made, type="demo_request", occurred_at=NOW - timedelta(days=days))
    return made


@pytest.fixture
def hand_worked_leads():
    # new score (fit + engagement), new grade    | MQL now (≥60, A/B) → with the draft (≥35, A/B)
    lead(industry="software", score=70, grade="A")  # 30 + 0 = 30, A: grade kept | yes → no: down
    lead(industry="software", score=20, grade="C", demos_days_ago=(0,))  # 30 + 10 = 40, A: C→A | no → yes: up
    lead(
        industry="retail", score=65, grade="B", demos_days_ago=(0, 0, 0)
    )  # 0 + 20 (cap 2) = 20, D: B→D | down
    lead(industry="retail", score=10, grade="D")  # 0, D: kept | no → no
    lead(industry="retail", score=80, grade="C")  # 0, D: C→D | no (grade C) → no
    # 30 + 2 * 10 * 0.5^(10/30) = 30 + 15.87 → 46, A: B→A | no (50 < 60) → yes: up
    lead(industry="SOFTWARE", score=50, grade="B", demos_days_ago=(10, 10))


def test_the_impact_of_a_draft_is_counted_by_hand(marketer, queued, hand_worked_leads):
    draft = propose_scoring_model(actor=marketer, changes=DRAFT)
    stored = compute_draft_impact(version=draft.version, now=NOW)
    assert stored is not None
    assert (
        stored.impact_leads,
        stored.impact_grade_changes,
        stored.impact_mql_up,
        stored.impact_mql_down,
        stored.impact_based_on,
        stored.impact_computed_at,
    ) == (6, 4, 2, 2, 1, NOW)
    # Nothing but the counts is written: the leads keep their scores.
    assert sorted(Lead.objects.values_list("score", flat=True)) == [10, 20, 50, 65, 70, 80]


@needs_postgres
def test_the_sql_and_the_python_paths_count_the_same_impact(marketer, queued, hand_worked_leads):
    draft = propose_scoring_model(actor=marketer, changes=DRAFT)
    arguments = {
        "model": impact.compile_model(draft),
        "now": NOW,
        "old_bar": impact.mql_bar(ScoringModel.objects.get(version=1)),
        "new_bar": impact.mql_bar(draft),
    }
    expected = scoring_sql.ImpactCounts(leads=6, grade_changes=4, mql_up=2, mql_down=2)
    assert impact._impact_in_sql(**arguments) == expected
    assert impact._impact_in_python(**arguments) == expected


def test_without_an_active_model_nobody_meets_the_current_bar(marketer, queued, hand_worked_leads):
    ScoringModel.objects.filter(version=1).update(status="retired")
    draft = propose_scoring_model(actor=marketer, changes=DRAFT)
    stored = compute_draft_impact(version=draft.version, now=NOW)
    # The two leads over the draft's bar (40 and 46, grade A) rise; nobody can fall.
    assert (stored.impact_mql_up, stored.impact_mql_down, stored.impact_based_on) == (2, 0, None)


def test_the_impact_of_a_version_no_longer_a_draft_is_not_computed(marketer, rep, queued):
    draft = propose_scoring_model(actor=marketer, changes={})
    reject_scoring_model(actor=rep, version=draft.version, comment="No")
    assert compute_draft_impact_task(draft.version) is False
    assert ScoringModel.objects.get(pk=draft.pk).impact_computed_at is None


def test_a_count_made_against_a_version_retired_meanwhile_is_not_written(marketer, rep, queued, monkeypatch):
    draft = propose_scoring_model(actor=marketer, changes={})
    other = propose_scoring_model(actor=rep, changes={"mql_threshold": 50})
    counting = impact._impact_in_sql if scoring_sql.set_based_scoring() else impact._impact_in_python

    def activate_meanwhile(**kwargs):
        approve_scoring_model(actor=marketer, version=other.version)
        return counting(**kwargs)

    monkeypatch.setattr(impact, counting.__name__, activate_meanwhile)
    assert compute_draft_impact(version=draft.version, now=NOW) is None
    assert ScoringModel.objects.get(pk=draft.pk).impact_computed_at is None


def test_a_user_in_both_teams_proposes_for_marketing(queued):
    both = UserFactory(username="both", roles=["marketing", "sales"])
    draft = propose_scoring_model(actor=both, changes={})
    assert (draft.approved_by_marketing, draft.approved_by_sales) == (both, None)


# --- Lost counts and drafts from before ------------------------------------------------------------------


def test_a_count_lost_for_a_quarter_of_an_hour_is_queued_again_once(marketer, rep, queued, time_machine):
    time_machine.move_to(NOW, tick=False)
    lost = propose_scoring_model(actor=marketer, changes={"mql_threshold": 70})
    counted = propose_scoring_model(actor=marketer, changes={"mql_threshold": 71})
    compute_draft_impact(version=counted.version)
    rejected = propose_scoring_model(actor=marketer, changes={"mql_threshold": 72})
    reject_scoring_model(actor=rep, version=rejected.version, comment="No")
    time_machine.move_to(NOW + timedelta(minutes=14), tick=False)
    recent = propose_scoring_model(actor=marketer, changes={"mql_threshold": 73})
    queued.clear()

    assert sweep_draft_impacts_task() == 0
    time_machine.move_to(NOW + timedelta(minutes=16), tick=False)
    assert sweep_draft_impacts_task() == 1
    assert impact_calls(queued) == [lost.version]
    assert ScoringModel.objects.get(pk=lost.pk).impact_queued_at == NOW + timedelta(minutes=16)
    assert sweep_draft_impacts_task() == 0  # claimed: the next sweep waits another quarter of an hour
    time_machine.move_to(NOW + timedelta(minutes=30), tick=False)
    assert sweep_draft_impacts_task() == 1
    assert impact_calls(queued) == [lost.version, recent.version]
    # A draft from before impact counts were queued at all.
    older = ScoringModel.objects.create(version=9, proposed_by=marketer)
    assert sweep_draft_impacts_task() == 1
    assert impact_calls(queued) == [lost.version, recent.version, older.version]


def test_drafts_proposed_before_get_their_proposers_approval_where_it_cannot_activate_them(
    marketer, rep, nobody
):
    backfill = importlib.import_module("scoring.migrations.0004_proposal_counts_as_approval")
    by_rep = ScoringModel.objects.create(version=2, proposed_by=rep)
    by_marketer = ScoringModel.objects.create(version=3, proposed_by=marketer)
    half_done = ScoringModel.objects.create(
        version=4, proposed_by=marketer, approved_by_sales=rep, sales_approved_at=NOW
    )
    by_nobody = ScoringModel.objects.create(version=5, proposed_by=nobody)

    backfill.backfill_proposer_approval(django_apps, None)

    def approvals(model):
        model.refresh_from_db()
        return (model.status, model.approved_by_marketing, model.approved_by_sales)

    assert approvals(by_rep) == ("draft", None, rep)
    assert by_rep.sales_approved_at == by_rep.created_at
    assert approvals(by_marketer) == ("draft", marketer, None)
    assert by_marketer.marketing_approved_at == by_marketer.created_at
    assert approvals(half_done) == ("draft", None, rep)
    assert approvals(by_nobody) == ("draft", None, None)
