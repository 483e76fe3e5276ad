from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Notification, NotificationPreference
from core.notification_emails import set_email_preference
from core.notifications import notify
from core.tasks import email_notifications_task, send_notification_digests_task
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_user_sees_only_their_own_alerts(client, rep, other_rep):
    Notification.objects.create(
        user=rep, message="Hand-off for Ada Keeper is past its deadline", url="/queue/"
    )
    Notification.objects.create(user=other_rep, message="Someone else's breach")
    client.force_login(rep)
    response = client.get("/notifications/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Hand-off for Ada Keeper is past its deadline" in body
    assert "Someone else" not in body
    assert "1 unread" in body


def test_marking_all_read_touches_only_the_users_own_alerts(client, rep, other_rep):
    mine = Notification.objects.create(user=rep, message="mine")
    theirs = Notification.objects.create(user=other_rep, message="theirs")
    client.force_login(rep)
    response = client.post("/notifications/")
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None
    assert theirs.read_at is None
    assert "Nothing unread" in client.get("/notifications/").content.decode()


def test_alerts_need_a_login_and_a_team(client, nobody):
    assert client.get("/notifications/").status_code == 302
    client.force_login(nobody)
    assert client.get("/notifications/").status_code == 403


# --- notify, the unread count, marking read ------------------------------------------------------------


def test_notify_writes_one_row_per_user_in_one_insert(rep, other_rep, manager, django_assert_num_queries):
    with django_assert_num_queries(1):
        written = notify(user_ids=[rep.pk, other_rep.pk, rep.pk, manager.pk], kind="mention", message="hi")
    assert written == 3
    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted(
        [rep.pk, other_rep.pk, manager.pk]
    )


def test_notify_queues_the_e_mails_after_commit(rep, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "core.queue.enqueue", lambda task, **kw: sent.append((getattr(task, "name", task), kw))
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify(user_ids=[rep.pk], kind="mention", message="hi")
        assert sent == []
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert sent == [("core.tasks.email_notifications_task", {"notification_ids": ids})]


def test_the_unread_count_is_in_the_navigation_on_every_page_and_costs_no_query(
    client, rep, django_assert_max_num_queries
):
    notify(user_ids=[rep.pk], kind="mention", message="one")
    client.force_login(rep)  # counts once, at login
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/pipeline/").content.decode()
    assert 'data-testid="unread-count" aria-label="1 unread">1</span>' in body
    assert not [q for q in queries.captured_queries if "core_notification" in q["sql"]]
    notify(user_ids=[rep.pk], kind="mention", message="two")  # the cached count follows
    assert 'aria-label="2 unread">2</span>' in client.get("/pipeline/").content.decode()
    client.post("/notifications/", {"all": "1"})
    assert 'data-testid="unread-count"' not in client.get("/pipeline/").content.decode()


def test_a_cold_cache_costs_one_count(client, rep):
    notify(user_ids=[rep.pk], kind="mention", message="one")
    client.force_login(rep)
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/pipeline/").content.decode()
    assert 'aria-label="1 unread"' in body
    assert len([q for q in queries.captured_queries if "core_notification" in q["sql"]]) == 1


def test_one_alert_is_marked_read_from_the_page(client, rep, other_rep):
    notify(user_ids=[rep.pk], kind="mention", message="first")
    notify(user_ids=[rep.pk], kind="mention", message="second")
    theirs = Notification.objects.create(user=other_rep, kind="mention", message="theirs")
    first = Notification.objects.get(message="first")
    client.force_login(rep)
    assert client.post("/notifications/", {"read": first.pk}).status_code == 302
    assert client.post("/notifications/", {"read": theirs.pk}).status_code == 302
    assert list(
        Notification.objects.filter(read_at=None).values_list("message", flat=True).order_by("pk")
    ) == [
        "second",
        "theirs",
    ]
    assert "1 unread" in client.get("/notifications/").content.decode()


# --- the API -------------------------------------------------------------------------------------------


def test_the_api_lists_the_callers_notifications_newest_first_with_the_unread_count(rep, other_rep):
    for i in range(3):
        notify(user_ids=[rep.pk], kind="handoff.assigned", message=f"n{i}", url=f"/leads/{i}/")
    notify(user_ids=[other_rep.pk], kind="mention", message="not yours")
    Notification.objects.filter(message="n0").update(read_at=timezone.now())
    api = client_for(rep, scopes=["read"])
    response = api.get("/api/v1/notifications/", {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["unread"] == 2
    assert [n["message"] for n in body["results"]] == ["n2", "n1"]
    assert set(body["results"][0]) == {"id", "kind", "message", "url", "created_at", "read_at"}
    rest = api.get(body["next"]).json()
    assert [n["message"] for n in rest["results"]] == ["n0"]
    assert rest["results"][0]["read_at"] is not None


def test_the_api_marks_some_or_all_read_and_only_the_callers(rep, other_rep):
    notify(user_ids=[rep.pk, other_rep.pk], kind="mention", message="hi")
    notify(user_ids=[rep.pk], kind="mention", message="again")
    mine = list(Notification.objects.filter(user=rep).order_by("pk").values_list("pk", flat=True))
    theirs = Notification.objects.get(user=other_rep)
    api = client_for(rep, scopes=["read"])
    response = api.post("/api/v1/notifications/read/", {"ids": [mine[0], theirs.pk]}, format="json")
    assert response.json() == {"marked": 1, "unread": 1}
    assert api.post("/api/v1/notifications/read/", {"all": True}, format="json").json() == {
        "marked": 1,
        "unread": 0,
    }
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": []},
        {"ids": ["1"]},
        {"ids": [True]},
        {"all": False},
        {"all": True, "ids": [1]},
        {"x": 1},
        [],
    ],
)
def test_a_bad_mark_read_body_is_a_400(rep, body):
    response = client_for(rep, scopes=["read"]).post("/api/v1/notifications/read/", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_notifications_api_needs_credentials(anonymous):
    assert anonymous.get("/api/v1/notifications/").status_code == 401


# --- e-mail per preference -----------------------------------------------------------------------------


def test_alerts_are_e_mailed_at_once_by_default_one_mail_per_user_and_batch(rep, other_rep):
    notify(user_ids=[rep.pk, other_rep.pk], kind="mention", message="first")
    notify(user_ids=[rep.pk], kind="mention", message="second")
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert email_notifications_task(ids) == 2
    assert email_notifications_task(ids) == 0
    by_user = {m.to[0]: m for m in mail.outbox}
    assert by_user[rep.email].subject == "2 new alerts"
    assert "first" in by_user[rep.email].body
    assert "second" in by_user[rep.email].body
    assert by_user[other_rep.email].subject == "first"


def test_no_e_mail_for_users_who_turned_it_off_and_a_daily_digest_for_those_who_chose_it(
    client, rep, other_rep
):
    client.force_login(rep)
    assert client.post("/notifications/", {"email": "off"}).status_code == 302
    set_email_preference(user=other_rep, email="daily")
    notify(user_ids=[rep.pk, other_rep.pk], kind="mention", message="news")
    assert email_notifications_task(list(Notification.objects.values_list("pk", flat=True))) == 0
    assert send_notification_digests_task() == 1
    assert send_notification_digests_task() == 0
    assert [m.to for m in mail.outbox] == [[other_rep.email]]
    assert mail.outbox[0].subject == "Your alerts today: news"
    assert re.search(r'value="off"[^>]* checked', client.get("/notifications/").content.decode())


def test_a_bad_preference_is_a_400_and_changes_nothing(client, rep):
    client.force_login(rep)
    assert client.post("/notifications/", {"email": "hourly"}).status_code == 400
    assert not NotificationPreference.objects.exists()


def test_the_digest_is_a_beat_job():
    assert any(
        job["task"] == "core.tasks.send_notification_digests_task"
        for job in settings.CELERY_BEAT_SCHEDULE.values()
    )
