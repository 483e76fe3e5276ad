from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from leads.models import SCORE_WRITE_MARGIN, Activity, Lead
from scoring import scoring, sweep
from scoring.models import ScoreChange, ScoringModel, ScoringRun
from scoring.qualification import active_scoring_model, leads_meeting_mql_bar
from scoring.rescore import rescore_all
from scoring.signals import leads_scored
from scoring.tasks import rescore_all_task, score_leads_task, sweep_stale_scores_task
from tests.conftest import needs_postgres
from tests.factories import LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def use_model(**fields) -> ScoringModel:
    """Replace the active model with one made of ``fields`` (defaults: no rules)."""
    ScoringModel.objects.all().delete()
    values = {
        "version": 7,
        "status": "active",
        "mql_threshold": 60,
        "min_grade": "B",
        "engagement_half_life_days": 30.0,
        "fit_rules": [],
        "engagement_rules": [],
        "grade_bands": {"A": 40, "B": 25, "C": 10},
    }
    values.update(fields)
    return ScoringModel.objects.create(**values)


def rule(field, operator, value, points, label=None):
    return {"field": field, "operator": operator, "value": value, "points": points, "label": label or field}


def activity(lead, type_, days_ago, **extra):
    return Activity.objects.create(lead=lead, type=type_, occurred_at=NOW - timedelta(days=days_ago), **extra)


def rescore(lead) -> Lead:
    scoring.score_leads(lead_ids=[lead.pk], now=NOW)
    lead.refresh_from_db()
    return lead


def test_the_default_model_is_active_after_migrating_and_scores_a_senior_decision_maker_high():
    model = active_scoring_model()
    assert model.version == 1
    persona = PersonaFactory(slug="ops-leader")
    boss = LeadFactory(
        email="boss@nordwind.example",
        seniority="c_level",
        is_decision_maker=True,
        company_size=800,
        country="DE",
        persona=persona,
    )
    student = LeadFactory(email="kid@gmail.com", job_title="Student", seniority="other", country="DE")
    assert rescore(boss).grade == "A"
    assert rescore(student).grade == "D"
    assert boss.fit_score == 20 + 15 + 10 + 10 + 5
    assert student.fit_score == -30 - 15 + 5


@pytest.mark.parametrize(
    ("fit_rule", "attributes", "matches"),
    [
        (rule("seniority", "eq", "director", 20), {"seniority": "director"}, True),
        (rule("seniority", "eq", "director", 20), {"seniority": "vp"}, False),
        (rule("seniority", "in", ["c_level", "vp"], 20), {"seniority": "vp"}, True),
        (rule("job_title", "contains", "Director", 5), {"job_title": "IT director, EMEA"}, True),
        (rule("job_title", "contains", "student", 5), {"job_title": "Head of Sales"}, False),
        (rule("company_size", "gte", 200, 10), {"company_size": 200}, True),
        (rule("company_size", "gte", 200, 10), {"company_size": None}, False),
        (rule("company_size", "lte", 10, -5), {"company_size": 8}, True),
        (rule("company_size", "in", [8, 25], 1), {"company_size": 25}, True),
        (rule("country", "in", ["de", "AT"], 5), {"country": "DE"}, True),
        (rule("is_decision_maker", "is_true", True, 15), {"is_decision_maker": True}, True),
        (rule("is_decision_maker", "is_true", True, 15), {"is_decision_maker": None}, False),
        (rule("free_mail", "is_true", True, -15), {"email": "x@GMX.de"}, True),
        (rule("free_mail", "is_true", True, -15), {"email": "x@acme.example"}, False),
        (rule("email_domain", "eq", "acme.example", 3), {"email": "x@acme.example"}, True),
    ],
)
def test_each_fit_operator_matches_as_described(fit_rule, attributes, matches):
    use_model(fit_rules=[fit_rule])
    lead = rescore(LeadFactory(**attributes))
    assert lead.fit_score == (fit_rule["points"] if matches else 0)


def test_a_persona_rule_matches_the_leads_persona_slug():
    use_model(fit_rules=[rule("persona", "eq", "it-director", 12, "IT director persona")])
    lead = rescore(LeadFactory(persona=PersonaFactory(slug="it-director")))
    assert lead.score_breakdown == [{"rule": "IT director persona", "points": 12}]


def test_engagement_decays_by_half_every_half_life():
    use_model(engagement_rules=[{"activity_type": "demo_request", "points": 40, "max_per_30_days": 5}])
    lead = LeadFactory()
    activity(lead, "demo_request", 0)
    assert rescore(lead).engagement_score == 40
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        scoring.score_leads(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.engagement_score == 20
    with time_machine.travel(NOW + timedelta(days=60), tick=False):
        scoring.score_leads(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.engagement_score == 10


def test_only_the_most_recent_activities_of_a_type_count_in_each_30_day_bucket():
    use_model(
        engagement_half_life_days=1_000_000.0,  # no visible decay: count the activities
        engagement_rules=[{"activity_type": "page_view", "points": 10, "max_per_30_days": 2}],
    )
    lead = LeadFactory()
    for days in (1, 2, 3, 4):  # four in the first bucket: two count
        activity(lead, "page_view", days)
    for days in (31, 45):  # two in the second bucket: both count
        activity(lead, "page_view", days)
    activity(lead, "email_open", 1)  # no rule: counts nothing
    lead = rescore(lead)
    assert lead.engagement_score == 40
    assert lead.score_breakdown == [{"rule": "Page view \u00d74", "points": 40}]


def test_breakdown_lines_sum_to_the_score_when_each_line_rounds_down():
    use_model(
        fit_rules=[rule("seniority", "eq", "vp", 7, "VP")],
        engagement_half_life_days=10.0,
        engagement_rules=[
            {"activity_type": "page_view", "points": 1, "max_per_30_days": 10},
            {"activity_type": "email_open", "points": 1, "max_per_30_days": 10},
            {"activity_type": "email_click", "points": 1, "max_per_30_days": 10},
        ],
    )
    lead = LeadFactory(seniority="vp")
    for type_ in ("page_view", "email_open", "email_click"):
        activity(lead, type_, 10)  # 0.5 points each: 1.5 in all, rounded to 2 at the end
    lead = rescore(lead)
    assert lead.engagement_score == 2
    assert lead.score == 9
    assert sum(line["points"] for line in lead.score_breakdown) == lead.score
    assert [line["points"] for line in lead.score_breakdown] == [7, 1, 1, 0]


def test_activities_after_now_do_not_count_yet():
    use_model(engagement_rules=[{"activity_type": "meeting", "points": 20, "max_per_30_days": 2}])
    lead = LeadFactory()
    Activity.objects.create(lead=lead, type="meeting", occurred_at=NOW + timedelta(hours=1))
    assert rescore(lead).engagement_score == 0


def test_very_old_activities_count_nothing_and_do_not_break_the_sql_path():
    use_model(
        engagement_half_life_days=0.5,
        engagement_rules=[{"activity_type": "meeting", "points": 1000, "max_per_30_days": 2}],
    )
    lead = LeadFactory()
    activity(lead, "meeting", 3650)
    assert rescore(lead).engagement_score == 0
    run = rescore_all(reason="test", now=NOW)
    lead.refresh_from_db()
    assert run.status == "done"
    assert lead.engagement_score == 0


def test_huge_engagement_with_grade_d_never_meets_the_mql_bar():
    use_model(
        mql_threshold=60,
        min_grade="B",
        fit_rules=[rule("seniority", "eq", "director", 30, "Director")],
        engagement_rules=[{"activity_type": "demo_request", "points": 100, "max_per_30_days": 5}],
    )
    fan = LeadFactory(seniority="other")
    buyer = LeadFactory(seniority="director")
    for lead in (fan, buyer):
        for days in range(5):
            activity(lead, "demo_request", days)
    scoring.score_leads(lead_ids=[fan.pk, buyer.pk], now=NOW)
    fan.refresh_from_db()
    assert fan.score > 400
    assert fan.grade == "D"
    assert list(leads_meeting_mql_bar([fan.pk, buyer.pk]).values_list("pk", flat=True)) == [buyer.pk]


def test_scoring_records_the_model_version_and_a_history_row_only_when_the_score_changes():
    use_model(version=7, fit_rules=[rule("seniority", "eq", "vp", 25, "VP")])
    lead = LeadFactory(seniority="vp")
    rescore(lead)
    rescore(lead)
    lead.refresh_from_db()
    # Stamped a little early: a change committed while it was computed may not be in it (the sweep checks).
    assert (lead.score, lead.grade, lead.scoring_version, lead.scored_at) == (
        25,
        "B",
        7,
        NOW - SCORE_WRITE_MARGIN,
    )
    change = ScoreChange.objects.get(lead=lead)
    assert (change.previous_score, change.score, change.model_version, change.reason) == (
        None,
        25,
        7,
        "incremental",
    )
    Lead.objects.filter(pk=lead.pk).update(seniority="other")
    rescore(lead)
    assert list(ScoreChange.objects.filter(lead=lead).values_list("previous_score", "score")) == [
        (25, 0),
        (None, 25),
    ]


def test_scoring_announces_the_rescored_leads_inside_the_transaction():
    received = []

    def receiver(sender, lead_ids, **kwargs):
        received.append(sorted(lead_ids))

    leads = [LeadFactory(), LeadFactory()]
    leads_scored.connect(receiver)
    try:
        scoring.score_leads(lead_ids=[lead.pk for lead in leads], now=NOW)
    finally:
        leads_scored.disconnect(receiver)
    assert received == [sorted(lead.pk for lead in leads)]


def test_a_full_run_scores_every_lead_in_ranges_and_keeps_its_progress():
    use_model(fit_rules=[rule("seniority", "eq", "vp", 25, "VP")])
    leads = [LeadFactory(seniority="vp") for _ in range(7)]
    run = rescore_all(reason="test", now=NOW, id_span=3)
    assert (run.status, run.done, run.total, run.model_version, run.percent) == ("done", 7, 7, 7, 100)
    assert run.finished_at is not None
    assert set(Lead.objects.values_list("score", flat=True)) == {25}
    assert ScoringRun.objects.count() == 1
    assert len(leads) == 7


def test_a_full_run_writes_and_announces_only_the_leads_whose_numbers_changed():
    use_model(
        fit_rules=[rule("seniority", "eq", "vp", 25, "VP")],
        engagement_rules=[{"activity_type": "demo_request", "points": 100, "max_per_30_days": 5}],
    )
    steady, moved, decaying, new = (LeadFactory(seniority="vp") for _ in range(4))
    activity(decaying, "demo_request", 2)
    scoring.score_leads(lead_ids=[steady.pk, moved.pk, decaying.pk], now=NOW)
    Lead.objects.filter(pk=moved.pk).update(seniority="other")
    announced = []

    def receiver(sender, lead_ids, **kwargs):
        announced.extend(lead_ids)

    later = NOW + timedelta(days=1)
    leads_scored.connect(receiver)
    try:
        run = rescore_all(reason="nightly", now=later, id_span=2)
    finally:
        leads_scored.disconnect(receiver)
    assert (run.status, run.done, run.total) == ("done", 4, 4)
    assert sorted(announced) == sorted([moved.pk, decaying.pk, new.pk])
    scored_at = dict(Lead.objects.values_list("pk", "scored_at"))
    # The Python path stamps a score a little early, so the sweep sees changes made meanwhile; the full run
    # in SQL (PostgreSQL) stamps the run's time.
    early = SCORE_WRITE_MARGIN
    full = later if connection.vendor == "postgresql" else later - early
    assert scored_at == {steady.pk: NOW - early, moved.pk: full, decaying.pk: full, new.pk: full}
    assert Lead.objects.get(pk=decaying.pk).engagement_score == round(100 * 0.5 ** (3 / 30)) == 93
    assert sorted(ScoreChange.objects.filter(reason="nightly").values_list("lead_id", flat=True)) == sorted(
        [moved.pk, decaying.pk, new.pk]
    )


@time_machine.travel(NOW, tick=False)
def test_the_sweep_trusts_a_finished_full_run_of_the_active_version_for_leads_it_left_alone():
    use_model(version=8, fit_rules=[rule("seniority", "eq", "vp", 25, "VP")])
    lead = LeadFactory(seniority="vp")
    scoring.score_leads(lead_ids=[lead.pk], now=NOW)
    Lead.objects.filter(pk=lead.pk).update(scoring_version=7)  # v8 gives the same numbers as v7 did
    assert sweep.stale_lead_ids(limit=100) == [lead.pk]
    rescore_all(reason="activation of v8", now=NOW)
    assert Lead.objects.get(pk=lead.pk).scoring_version == 7
    assert sweep.stale_lead_ids(limit=100) == []


def test_the_full_run_and_the_incremental_path_agree_on_the_default_model():
    lead = LeadFactory(seniority="director", is_decision_maker=True, company_size=300, email="a@gmail.com")
    for days, type_ in enumerate(["demo_request", "page_view", "pricing_page_view", "email_open"] * 5):
        activity(lead, type_, days * 2.7)
    incremental = rescore(lead)
    expected = (incremental.score, incremental.grade, incremental.score_breakdown)
    Lead.objects.update(score=0, score_breakdown=[], grade="D")
    rescore_all(reason="test", now=NOW)
    lead.refresh_from_db()
    assert (lead.score, lead.grade, lead.score_breakdown) == expected


@time_machine.travel(NOW, tick=False)
def test_the_sweep_rescores_leads_never_scored_or_changed_since_their_score():
    never = LeadFactory()
    fresh = LeadFactory()
    changed = LeadFactory()
    scoring.score_leads(lead_ids=[fresh.pk, changed.pk], now=NOW + timedelta(seconds=30))  # stamped NOW+20 s
    Lead.objects.filter(pk=changed.pk).update(updated_at=NOW + timedelta(minutes=1))
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert sweep.stale_lead_ids(limit=100) == sorted([never.pk, changed.pk])
        assert sweep.sweep_stale_scores() == 2
        assert sweep.stale_lead_ids(limit=100) == []


@time_machine.travel(NOW, tick=False)
def test_a_score_taken_moments_after_a_change_may_have_missed_it_so_the_sweep_rescores_it_once():
    lead = LeadFactory()  # changed at NOW; the change may commit seconds later
    scoring.score_leads(lead_ids=[lead.pk], now=NOW + timedelta(seconds=2))
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert sweep.stale_lead_ids(limit=100) == [lead.pk]
        assert sweep.sweep_stale_scores() == 1
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert sweep.stale_lead_ids(limit=100) == []


@time_machine.travel(NOW, tick=False)
def test_the_sweep_rescores_a_lead_whose_activity_arrived_after_its_score():
    lead = LeadFactory()
    scoring.score_leads(lead_ids=[lead.pk], now=NOW)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        Activity.objects.create(lead=lead, type="demo_request", occurred_at=NOW - timedelta(days=1))
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert sweep.stale_lead_ids(limit=100) == [lead.pk]
        sweep_stale_scores_task()
    lead.refresh_from_db()
    assert lead.engagement_score > 0


@time_machine.travel(NOW, tick=False)
def test_the_sweep_picks_up_leads_scored_by_a_retired_version():
    lead = LeadFactory()
    scoring.score_leads(lead_ids=[lead.pk], now=NOW)
    Lead.objects.filter(pk=lead.pk).update(scoring_version=0)
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert sweep.stale_lead_ids(limit=100) == [lead.pk]


def test_tasks_take_ids_and_skip_leads_that_are_gone():
    lead = LeadFactory()
    assert score_leads_task([lead.pk, 999_999]) == 1
    assert rescore_all_task() == 1
    lead.refresh_from_db()
    assert lead.scored_at is not None


def test_without_an_active_model_nothing_is_scored():
    ScoringModel.objects.all().delete()
    lead = LeadFactory()
    assert scoring.score_leads(lead_ids=[lead.pk]) == []
    assert rescore_all(reason="test") is None
    assert sweep.sweep_stale_scores() == 0


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_full_run_on_postgresql_scores_ranges_on_parallel_connections():
    use_model(fit_rules=[rule("seniority", "eq", "vp", 25, "VP")])
    for _ in range(9):
        LeadFactory(seniority="vp")
    run = rescore_all(reason="test", now=NOW, id_span=2, workers=3)
    assert (run.status, run.done, run.total) == ("done", 9, 9)
    assert set(Lead.objects.values_list("score", "scoring_version")) == {(25, 7)}
    assert ScoreChange.objects.count() == 9


def test_a_lead_skipped_while_another_transaction_writes_it_is_tried_again_shortly(monkeypatch):
    """The task asks again, soon, for the leads ``score_leads`` skipped; not for leads that are gone."""
    import scoring.tasks

    scored, busy = LeadFactory(), LeadFactory()
    later: list[tuple[float, list[int], int]] = []
    monkeypatch.setattr(scoring.tasks, "score_leads", lambda *, lead_ids: [scored.pk])
    monkeypatch.setattr(
        scoring.tasks,
        "enqueue_later",
        lambda task, countdown, ids, attempt: later.append((countdown, ids, attempt)),
    )
    assert score_leads_task.run([scored.pk, busy.pk, 999_999]) == 1
    assert later == [(scoring.tasks.BUSY_RETRY_SECONDS, [busy.pk], 1)]
    later.clear()
    score_leads_task.run([busy.pk], attempt=scoring.tasks.BUSY_RETRIES)
    assert later == []  # after a minute of tries the sweep has it


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_lead_locked_by_another_connection_is_skipped_and_named_busy():
    import threading

    from django.db import connections, transaction

    use_model(fit_rules=[rule("seniority", "eq", "vp", 25, "VP")])
    free, locked = LeadFactory(seniority="vp"), LeadFactory(seniority="vp")
    holding, release = threading.Event(), threading.Event()

    def hold_lock():
        with transaction.atomic():
            Lead.objects.select_for_update().filter(pk=locked.pk).exists()
            holding.set()
            release.wait(timeout=30)
        connections.close_all()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        done = scoring.score_leads(lead_ids=[free.pk, locked.pk], now=NOW)
        assert done == [free.pk]
        assert scoring.busy_leads(requested=[free.pk, locked.pk], done=done) == [locked.pk]
    finally:
        release.set()
        thread.join()
    assert scoring.score_leads(lead_ids=[locked.pk], now=NOW) == [locked.pk]
