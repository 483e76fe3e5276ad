"""Hand-off alerts from a promotion: one notification per rep and batch, set-based, at a constant cost."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Notification, WebhookEndpoint, WebhookEventType
from core.notification_emails import set_email_preference
from core.notifications import unread_count
from core.tasks import email_notifications_task
from funnel import alerts, promotion
from leads.models import Lead
from tests.conftest import needs_postgres
from tests.factories import LeadFactory
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"first_name": "Jane", "last_name": "Doe", "company": "Acme"}, "Jane Doe (Acme)"),
        ({"first_name": "Jane", "last_name": "", "company": ""}, "Jane"),
        ({"first_name": "", "last_name": "Doe", "company": "Acme"}, "Doe (Acme)"),
        ({"first_name": "", "last_name": "", "company": "Acme"}, "jane@example.com (Acme)"),
        ({"first_name": "", "last_name": "", "company": ""}, "jane@example.com"),
        ({"first_name": " ", "last_name": "Ö'Brien", "company": "A & B"}, "  Ö'Brien (A & B)"),
    ],
)
def test_a_rep_given_one_lead_is_told_its_name_as_lead_label_says(rep, fields, label):
    lead = qualified(email="jane@example.com", owner=rep, **fields)
    assert Lead.objects.get(pk=lead.pk).label == label
    assert alerts.handoffs_opened(assigned=[(lead.pk, rep.pk)], now=timezone.now()) == 1
    note = Notification.objects.get()
    assert (note.user_id, note.kind, note.url) == (rep.pk, "handoff.assigned", f"/leads/{lead.pk}/")
    assert note.message == f"New hand-off: {label} is waiting for your decision."
    assert (note.read_at, note.emailed_at) == (None, None)


def test_a_long_alert_is_cut_to_the_message_length_as_notify_cuts_it(rep):
    lead = qualified(first_name="J" * 100, last_name="D" * 100, company="C" * 200, owner=rep)
    alerts.handoffs_opened(assigned=[(lead.pk, rep.pk)], now=timezone.now())
    expected = f"New hand-off: {Lead.objects.get(pk=lead.pk).label} is waiting for your decision."[:500]
    assert Notification.objects.get().message == expected


def test_a_lead_without_an_owner_tells_nobody(rep):
    lead = qualified()
    assert alerts.handoffs_opened(assigned=[(lead.pk, None)], now=timezone.now()) == 0
    assert not Notification.objects.exists()


def test_promotion_drops_each_reps_cached_count_and_queues_one_e_mail_task(
    scoring_model, rep, other_rep, django_capture_on_commit_callbacks, monkeypatch
):
    for _ in range(7):
        qualified()
    cache.set(f"notifications:unread:{rep.pk}", 0)
    cache.set(f"notifications:unread:{other_rep.pk}", 0)
    queued = []
    monkeypatch.setattr("core.queue.enqueue", lambda task, **kw: queued.append((task.name, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        assert promotion.promote_qualified_leads() == 7
    assert (unread_count(rep.pk), unread_count(other_rep.pk)) == (1, 1)
    assert sorted(Notification.objects.values_list("message", flat=True)) == [
        "3 new hand-offs are waiting for your decision.",
        "4 new hand-offs are waiting for your decision.",
    ]
    emails = [kw for name, kw in queued if name == "core.tasks.email_notifications_task"]
    assert emails == [{"notification_ids": sorted(Notification.objects.values_list("pk", flat=True))}]


def test_the_e_mail_task_sends_one_mail_per_rep_for_the_batch(scoring_model, rep, other_rep):
    set_email_preference(user=other_rep, email="off")
    for _ in range(4):
        qualified()
    promotion.promote_qualified_leads()
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 2  # one per rep
    assert email_notifications_task(ids) == 1  # other_rep has e-mail off
    assert email_notifications_task(ids) == 0  # each alert is mailed once
    assert [m.to for m in mail.outbox] == [[rep.email]]
    assert mail.outbox[0].subject == "2 new hand-offs are waiting for your decision."
    assert "2 new hand-offs are waiting for your decision." in mail.outbox[0].body
    assert "/queue/" in mail.outbox[0].body


def _promotion_queries(n: int) -> list[str]:
    Lead.objects.bulk_create(LeadFactory.build_batch(n, score=80, grade="A"))
    cache.clear()  # each run starts as cold as the other
    with CaptureQueriesContext(connection) as queries:
        assert promotion.promote_qualified_leads() == n
    sql = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "sqlite":
        # TRICKY: on SQLite the transitions and hand-offs are written by bulk_create, which splits a set at
        # SQLite's 999 variables per statement; PostgreSQL writes each in one statement. Everything else,
        # the notifications and webhook events among it, must not grow on either.
        sql = [s for s in sql if not re.match(r'INSERT INTO "(leads_transition|funnel_handoff)"', s)]
    return sql


@pytest.mark.parametrize(
    "webhooks",
    [
        pytest.param(False, id="no-webhooks"),
        # On SQLite events go through emit_many's bulk_create; the set-based outbox is PostgreSQL's.
        pytest.param(True, id="webhooks", marks=needs_postgres),
    ],
)
def test_a_promotion_costs_the_same_queries_whatever_the_number_of_leads(
    scoring_model, rep, other_rep, webhooks
):
    if webhooks:
        WebhookEndpoint.objects.create(
            url="https://hooks.example.com/in", events=list(WebhookEventType.values), secret="whsec_test"
        )
    _promotion_queries(1)  # first use: the routing state and the funnel settings are created
    few = _promotion_queries(4)  # two leads for each rep, as many leads give them: no names to read
    many = _promotion_queries(1500)
    assert Notification.objects.count() == 1 + 2 + 2  # one per rep and promotion
    assert len(many) == len(few)
