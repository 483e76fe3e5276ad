"""The drafts on /scoring/: the impact (computing, then counted), rejection with a comment, and the progress
of the rescore an activation queues."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scoring.impact import compute_draft_impact
from scoring.models import ScoringModel, ScoringRun
from scoring.tasks import compute_draft_impact_task, rescore_all_task
from scoring.versions import propose_scoring_model, reject_scoring_model
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    for task in (rescore_all_task, compute_draft_impact_task):
        monkeypatch.setattr(task, "apply_async", lambda args, kwargs, **options: None)


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


def words_of(html: str) -> str:
    """The text a person reads, without the tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_draft_shows_computing_and_polls_its_impact_until_it_is_counted(marketer, rep):
    draft = propose_scoring_model(actor=marketer, changes={"mql_threshold": 0, "min_grade": "D"})
    LeadFactory.create_batch(2)
    page = text_of(browser_for(rep).get("/scoring/"))
    assert "Computing…" in page
    assert f'hx-get="/scoring/{draft.version}/impact/" hx-trigger="every 3s"' in page
    assert "approved by Mia Marketer (proposer)" in page

    compute_draft_impact(version=draft.version)
    partial = text_of(browser_for(rep).get(f"/scoring/{draft.version}/impact/"))
    assert "hx-get" not in partial
    assert "0 leads would change grade" in words_of(partial)
    assert "2 would rise over the MQL bar" in words_of(partial)
    assert "0 would fall below it" in words_of(partial)
    assert "Of 2 leads, against their scores under v1" in words_of(partial)
    page = text_of(browser_for(rep).get("/scoring/"))
    assert "Computing…" not in page
    assert "2 would rise over the MQL bar" in words_of(page)


def test_the_impact_of_an_unknown_version_is_a_404(rep):
    assert browser_for(rep).get("/scoring/99/impact/").status_code == 404


def test_a_draft_rejected_on_the_page_shows_who_when_and_why(marketer, rep):
    draft = propose_scoring_model(actor=marketer, changes={"mql_threshold": 90})
    page = text_of(browser_for(rep).get("/scoring/"))
    assert f'action="/scoring/{draft.version}/reject/"' in page
    response = browser_for(rep).post(f"/scoring/{draft.version}/reject/", {"comment": "90 starves sales."})
    assert (response.status_code, response.url) == (302, f"/scoring/#rejected-{draft.version}")
    draft.refresh_from_db()
    assert (draft.status, draft.rejected_by, draft.rejection_comment) == (
        "rejected",
        rep,
        "90 starves sales.",
    )
    page = text_of(browser_for(marketer).get("/scoring/"))
    when = timezone.localtime(draft.rejected_at).strftime("%-d %b %Y, %H:%M")
    assert f"<strong>Sam Seller</strong> rejected it on {when}: “90 starves sales.”" in page
    assert f"Approve v{draft.version}" not in page
    assert f'action="/scoring/{draft.version}/reject/"' not in page
    assert re.search(rf"<td>v{draft.version}</td><td>Rejected</td>", page)


def test_approving_a_rejected_draft_on_the_page_says_why_not(marketer, rep):
    draft = propose_scoring_model(actor=marketer, changes={})
    reject_scoring_model(actor=marketer, version=draft.version, comment="Withdrawn.")
    browser = browser_for(rep)
    response = browser.post(f"/scoring/{draft.version}/approve/", follow=True)
    assert f"Version {draft.version} is rejected, not a draft." in text_of(response)
    assert ScoringModel.objects.get(pk=draft.pk).status == "rejected"


def test_a_rejection_without_a_comment_shows_the_problem_and_keeps_the_draft(marketer, rep):
    draft = propose_scoring_model(actor=marketer, changes={})
    response = browser_for(rep).post(f"/scoring/{draft.version}/reject/", {"comment": "  "}, follow=True)
    assert "Say why the draft is rejected." in text_of(response)
    assert ScoringModel.objects.get(pk=draft.pk).status == "draft"


def test_after_an_activation_the_page_polls_the_rescore_until_it_is_done(marketer, rep):
    draft = propose_scoring_model(actor=marketer, changes={})
    response = browser_for(rep).post(f"/scoring/{draft.version}/approve/", follow=True)
    page = text_of(response)
    assert f"v{draft.version} is now active" in page
    assert 'hx-get="/scoring/progress/" hx-trigger="every 2s"' in page
    assert f"<strong>v{draft.version}</strong> is active: a rescore of every lead is queued" in page

    now = timezone.now()
    run = ScoringRun.objects.create(
        model_version=draft.version, reason="activation", total=40, done=20, started_at=now, updated_at=now
    )
    partial = text_of(browser_for(rep).get("/scoring/progress/"))
    assert 'hx-get="/scoring/progress/"' in partial
    assert "is queued" not in partial
    assert "20 / 40 leads (50%)" in words_of(partial)
    assert 'value="20"' in partial

    ScoringRun.objects.filter(pk=run.pk).update(status="done", done=40, finished_at=now)
    partial = text_of(browser_for(rep).get("/scoring/progress/"))
    assert "hx-get" not in partial
    assert "40 / 40 leads (100%)" in words_of(partial)
    assert "Done" in partial


def test_the_seeded_model_and_an_old_activation_wait_for_no_rescore(marketer, rep):
    page = text_of(browser_for(rep).get("/scoring/"))
    assert 'hx-get="/scoring/progress/"' not in page
    assert "No full rescore has run yet" in page
    draft = propose_scoring_model(actor=marketer, changes={})
    browser_for(rep).post(f"/scoring/{draft.version}/approve/")
    ScoringModel.objects.filter(pk=draft.pk).update(activated_at=timezone.now() - timedelta(hours=2))
    assert "hx-get" not in text_of(browser_for(rep).get("/scoring/progress/"))


def test_the_page_runs_as_many_queries_with_many_drafts_as_with_one(marketer, rep, manager):
    def queries() -> int:
        browser = browser_for(rep)
        with CaptureQueriesContext(connection) as captured:
            assert browser.get("/scoring/").status_code == 200
        return len(captured)

    propose_scoring_model(actor=marketer, changes={})
    with_one = queries()
    for n in range(4):
        draft = propose_scoring_model(actor=manager if n % 2 else marketer, changes={"mql_threshold": 50 + n})
        compute_draft_impact(version=draft.version)
        if n % 2:
            reject_scoring_model(actor=rep, version=draft.version, comment=f"No {n}")
    assert queries() == with_one
