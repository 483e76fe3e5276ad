"""Interactive work never waits behind bulk work: every task is routed to one of two queues."""

from __future__ import annotations

from django.conf import settings

from alignment.celery import app

INTERACTIVE = "interactive"
BULK = "bulk"


def _queue_of(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name)
    return route["queue"].name


def _our_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_periodic_task_goes_to_the_bulk_queue():
    periodic = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert periodic  # the schedule is not empty, so the loop below checks something
    assert {name: _queue_of(name) for name in periodic} == dict.fromkeys(periodic, BULK)


def test_full_rescores_imports_and_kpi_refreshes_go_to_the_bulk_queue():
    for name in (
        "scoring.tasks.rescore_all_task",
        "leads.tasks.import_csv_task",
        "alignment.tasks.refresh_kpis_task",
        "scoring.tasks.sweep_stale_scores_task",
        "funnel.tasks.sweep_promotions_task",
    ):
        assert _queue_of(name) == BULK, name


def test_incremental_scoring_hand_off_and_alerts_go_to_the_interactive_queue():
    for name in (
        "scoring.tasks.score_leads_task",
        "funnel.tasks.promote_leads_task",
        "core.tasks.email_notifications_task",
        "core.tasks.deliver_webhooks_task",
    ):
        assert _queue_of(name) == INTERACTIVE, name


def test_every_registered_task_is_routed_by_name_to_one_of_the_two_queues():
    routed = set(settings.CELERY_TASK_ROUTES)
    tasks = _our_tasks()
    assert "scoring.tasks.score_leads_task" in tasks
    assert tasks - routed == set()  # a new task must choose its queue
    assert routed - tasks == set()  # no route names a task that does not exist
    assert {_queue_of(name) for name in tasks} == {INTERACTIVE, BULK}
