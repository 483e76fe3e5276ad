"""Who is told what (hand-offs, rejections, mentions) and what the audit trail records."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent, Notification
from core.tokens import issue_token, revoke_token
from funnel import handoff, moves, promotion
from leads.models import Campaign, Lead
from leads.notes import add_note, mentioned_usernames
from tests.conftest import client_for
from tests.factories import LeadFactory
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


def kinds_for(user):
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("kind", "message", "url"))


def test_promotion_tells_each_rep_once_per_batch_in_one_insert(scoring_model, rep, other_rep):
    leads = [qualified(first_name="Jane", last_name=f"Doe{i}", company="Acme") for i in range(6)]
    with CaptureQueriesContext(connection) as queries:
        assert promotion.promote_qualified_leads(batch_size=4) == 6
    into_notifications = re.compile(r'INSERT INTO "?core_notification\b')
    inserts = [q for q in queries.captured_queries if into_notifications.search(q["sql"])]
    assert len(inserts) == 2  # two batches, one insert each
    # The rotation alternates: the first batch gives each rep two leads (one alert saying so, linking to
    # the queue), the second one lead each (an alert naming it, linking to its page).
    notes = list(Notification.objects.order_by("pk"))
    assert {n.kind for n in notes} == {"handoff.assigned"}
    assert sorted((n.user_id, n.message, n.url) for n in notes[:2]) == [
        (rep.pk, "2 new hand-offs are waiting for your decision.", "/queue/"),
        (other_rep.pk, "2 new hand-offs are waiting for your decision.", "/queue/"),
    ]
    owners = dict(Lead.objects.values_list("pk", "owner_id"))
    labels = {x.pk: f"Jane Doe{i} (Acme)" for i, x in enumerate(leads)}
    singles = {n.url: n for n in notes[2:]}
    assert len(singles) == 2
    assert {n.user_id for n in singles.values()} == {rep.pk, other_rep.pk}
    for url, note in singles.items():
        lead_id = int(url.strip("/").split("/")[-1])
        assert owners[lead_id] == note.user_id
        assert note.message == f"New hand-off: {labels[lead_id]} is waiting for your decision."


def test_nobody_is_told_about_a_hand_off_waiting_in_the_unassigned_queue(scoring_model):
    qualified()
    assert promotion.promote_qualified_leads() == 1
    assert not Notification.objects.exists()


def test_a_reassigned_hand_off_is_told_to_its_new_rep(scoring_model, rep, other_rep, manager):
    lead = qualified(first_name="Jane", last_name="Doe", company="Acme")
    promotion.promote_qualified_leads()
    first = Lead.objects.get(pk=lead.pk).owner
    second = other_rep if first == rep else rep
    handoff.assign_lead(lead_id=lead.pk, actor=manager, owner_id=second.pk)
    assert kinds_for(second) == [
        (
            "handoff.assigned",
            "New hand-off: Jane Doe (Acme) is waiting for your decision.",
            f"/leads/{lead.pk}/",
        )
    ]


@pytest.fixture
def waiting(scoring_model, rep):
    campaign = Campaign.objects.create(slug="webinar", name="Spring webinar")
    lead = qualified(first_name="Jane", last_name="Doe", company="Acme", campaign=campaign)
    promotion.promote_qualified_leads()
    Notification.objects.all().delete()
    return lead


def test_a_rejection_tells_the_marketer_who_owns_the_campaign(waiting, rep, marketer, django_user_model):
    other_marketer = django_user_model.objects.create(username="mo")
    other_marketer.groups.add(*marketer.groups.all())
    Campaign.objects.filter(slug="webinar").update(owner=marketer)
    handoff.reject_lead(lead_id=waiting.pk, actor=rep, reason="no-budget", note="Q3 maybe")
    assert kinds_for(marketer) == [
        (
            "lead.rejected",
            "Sam Seller rejected Jane Doe (Acme): No budget. “Q3 maybe”",
            f"/leads/{waiting.pk}/",
        )
    ]
    assert kinds_for(other_marketer) == []


def test_a_rejection_tells_every_marketer_when_nobody_owns_the_campaign(
    waiting, rep, marketer, django_user_model
):
    other_marketer = django_user_model.objects.create(username="mo")
    other_marketer.groups.add(*marketer.groups.all())
    handoff.reject_lead(lead_id=waiting.pk, actor=rep, reason="no-budget")
    assert Notification.objects.filter(kind="lead.rejected").count() == 2
    assert {n.user_id for n in Notification.objects.all()} == {marketer.pk, other_marketer.pk}


# --- mentions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("@rep please call", ["rep"]),
        ("Ask @rep, then @other_rep.", ["rep", "other_rep"]),
        ("mail jane@example.com or @rep @rep", ["rep"]),
        ("no mention here @", []),
    ],
)
def test_mentions_are_found_in_a_note(body, names):
    assert mentioned_usernames(body) == names


def test_a_mention_tells_the_mentioned_team_member_not_the_author_nor_strangers(marketer, rep, nobody):
    lead = LeadFactory(first_name="Jane", last_name="Doe", company="Acme")
    add_note(lead=lead, author=marketer, body="@REP can you call her? cc @marketer @nobody @ghost")
    assert kinds_for(rep) == [
        (
            "mention",
            "Mia Marketer mentioned you on Jane Doe (Acme): "
            "“@REP can you call her? cc @marketer @nobody @ghost”",
            f"/leads/{lead.pk}/#notes",
        )
    ]
    assert Notification.objects.count() == 1


def test_the_note_form_mentions_and_the_completion_lists_team_members(
    client, marketer, rep, other_rep, nobody
):
    lead = LeadFactory()
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/notes/", {"body": "@other_rep over to you"})
    assert response.status_code == 302
    assert [k for k, *_ in kinds_for(other_rep)] == ["mention"]
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'data-mentions="/leads/mentions/"' in page
    assert "js/mentions.js" in page
    assert client.get("/leads/mentions/", {"q": "@oth"}).json() == {
        "users": [{"username": "other_rep", "name": "Olli Other"}]
    }
    assert client.get("/leads/mentions/", {"q": "nob"}).json() == {"users": []}  # in no team


def test_the_completion_needs_a_login(client):
    assert client.get("/leads/mentions/", {"q": "r"}).status_code == 302


# --- the audit trail -----------------------------------------------------------------------------------


def audit(action):
    return list(AuditEvent.objects.filter(action=action).values_list("actor_id", "object_label", "data"))


def test_accept_and_reject_are_recorded(scoring_model, rep):
    leads = [qualified(first_name="Jane", last_name=f"Doe{i}", company="Acme") for i in range(2)]
    promotion.promote_qualified_leads()
    handoff.accept_lead(lead_id=leads[0].pk, actor=rep)
    handoff.reject_lead(lead_id=leads[1].pk, actor=rep, reason="no-budget", note="later")
    assert audit("lead.accepted") == [(rep.pk, "Jane Doe0 (Acme)", {"late": False, "rep": rep.pk})]
    assert audit("lead.rejected") == [
        (rep.pk, "Jane Doe1 (Acme)", {"reason": "No budget", "note": "later", "late": False})
    ]


def test_a_move_is_recorded(rep):
    lead = LeadFactory(stage="sal", owner=rep, first_name="Jane", last_name="Doe", company="Acme")
    moves.move_lead(lead_id=lead.pk, to_slug="sql", actor=rep, reason="budget confirmed")
    assert audit("lead.moved") == [
        (rep.pk, "Jane Doe (Acme)", {"from": "SAL", "to": "SQL", "reason": "budget confirmed"})
    ]


def test_token_creation_and_revocation_are_recorded_once(client, rep):
    issued = issue_token(user=rep, name="Website", scopes=["ingest"])
    client.force_login(rep)
    assert client.post(f"/settings/tokens/{issued.token.pk}/revoke/").status_code == 302
    revoke_token(token=issued.token)  # already revoked: nothing new to record
    assert audit("token.created") == [(rep.pk, str(issued.token), {"scopes": ["ingest"]})]
    assert audit("token.revoked") == [(rep.pk, str(issued.token), {"owner": rep.pk})]


def test_scoring_model_approval_reads_in_plain_words(client, manager, marketer):
    from_api = client_for(marketer)
    draft = from_api.post("/api/v1/scoring-model/versions/", {"mql_threshold": 70}, format="json")
    assert draft.status_code == 201, draft.content
    version = draft.json()["version"]
    client.force_login(manager)
    body = " ".join(client.get("/audit/").content.decode().split())
    assert (
        f"<strong>Mia Marketer</strong> approved <em>Scoring model v{version} (draft)</em> for marketing "
        "by proposing it" in body
    )
    assert (
        f"<strong>Mia Marketer</strong> proposed <em>Scoring model v{version} (draft)</em> based on v1"
        in body
    )


def test_scoring_model_rejection_reads_in_plain_words(client, manager, marketer, rep):
    version = (
        client_for(marketer).post("/api/v1/scoring-model/versions/", {}, format="json").json()["version"]
    )
    rejected = client_for(rep).post(
        f"/api/v1/scoring-model/versions/{version}/reject/", {"comment": "Bar too low"}, format="json"
    )
    assert rejected.status_code == 200
    client.force_login(manager)
    body = " ".join(client.get("/audit/").content.decode().split())
    assert (
        f"<strong>Sam Seller</strong> rejected <em>Scoring model v{version} (draft)</em> "
        "\u201cBar too low\u201d" in body
    )
