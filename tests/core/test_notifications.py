from __future__ import annotations

import pytest

from core.models import Notification

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
