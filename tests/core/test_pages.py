"""The token page (/settings/tokens/) and the managers' audit trail (/audit/)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.http import StreamingHttpResponse

from core.audit import record
from core.models import ApiToken, AuditEvent, hash_token
from tests.conftest import client_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


def create_token(client, name="Website forms", scopes=("ingest", "read")) -> str:
    response = client.post("/settings/tokens/", {"name": name, "scopes": list(scopes)})
    assert response.status_code == 200
    return response.context["created"].secret


# --- Tokens -------------------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in_before_the_token_page(client):
    response = client.get("/settings/tokens/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/tokens/"


def test_user_in_no_team_cannot_make_tokens(client, nobody):
    assert signed_in(client, nobody).get("/settings/tokens/").status_code == 403
    assert client.post("/settings/tokens/", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_every_team_member_has_a_token_page(client, request, who):
    response = signed_in(client, request.getfixturevalue(who)).get("/settings/tokens/")
    assert response.status_code == 200
    assert b"Create a token" in response.content


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client, marketer):
    client = signed_in(client, marketer)
    secret = create_token(client)
    token = ApiToken.objects.get()
    assert secret.startswith("aln_")
    assert token.key_hash == hash_token(secret)
    assert secret not in (token.key_hash, token.prefix, token.name)
    assert secret.startswith(token.prefix)
    assert (token.user, token.name, token.scopes) == (marketer, "Website forms", ["ingest", "read"])
    again = client.get("/settings/tokens/")
    assert secret.encode() not in again.content
    assert token.prefix.encode() in again.content


def test_the_token_page_is_never_cached(client, marketer):
    response = signed_in(client, marketer).post("/settings/tokens/", {"name": "n", "scopes": ["read"]})
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "data", [{"name": "no scopes"}, {"name": "", "scopes": ["read"]}, {"name": "x", "scopes": ["root"]}]
)
def test_an_incomplete_token_form_is_refused(client, marketer, data):
    response = signed_in(client, marketer).post("/settings/tokens/", data)
    assert response.status_code == 400
    assert b'class="field-errors"' in response.content
    assert not ApiToken.objects.exists()


def test_a_user_sees_only_their_own_tokens(client, marketer, rep):
    create_token(signed_in(client, rep), name="Rep dialer")
    client.logout()
    body = signed_in(client, marketer).get("/settings/tokens/").content
    assert b"Rep dialer" not in body
    assert b"No tokens yet." in body


def test_a_revoked_token_gets_401_from_the_api(client, marketer):
    client = signed_in(client, marketer)
    secret = create_token(client)
    api = client_for()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/leads/").status_code == 200
    token = ApiToken.objects.get()

    response = client.post(f"/settings/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == "/settings/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get("/api/v1/leads/").status_code == 401
    page = client.get("/settings/tokens/").content.decode()
    assert "was revoked" in page
    assert f"/settings/tokens/{token.pk}/revoke/" not in page


def test_one_user_cannot_revoke_anothers_token(client, marketer, rep):
    create_token(signed_in(client, rep))
    token = ApiToken.objects.get()
    client.logout()
    response = signed_in(client, marketer).post(f"/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(client, marketer):
    create_token(signed_in(client, marketer))
    token = ApiToken.objects.get()
    assert client.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


# --- Audit trail --------------------------------------------------------------------------------------


def event_at(when: str, **kwargs) -> AuditEvent:
    with time_machine.travel(dt.datetime.fromisoformat(when), tick=False):
        return record(**kwargs)


def test_anonymous_visitor_is_sent_to_log_in_before_the_audit_trail(client):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/audit/"


@pytest.mark.parametrize("who", ["marketer", "rep", "nobody"])
def test_only_managers_may_read_the_audit_trail(client, request, who):
    response = signed_in(client, request.getfixturevalue(who)).get("/audit/")
    assert response.status_code == 403
    assert (
        signed_in(client, request.getfixturevalue(who)).get("/audit/", {"format": "csv"}).status_code == 403
    )


def test_manager_sees_who_did_what_to_which_object_in_plain_words(client, manager, rep):
    lead = LeadFactory(first_name="Jane", last_name="Doe", company="Acme")
    record(actor=rep, action="lead.accepted", obj=lead, data={"late": True})
    record(actor=None, action="sla.breached", obj=lead, data={"sla": "missed"})
    body = " ".join(signed_in(client, manager).get("/audit/").content.decode().split())
    assert (
        f'<strong>Sam Seller</strong> accepted lead <a href="/leads/{lead.pk}/">Jane Doe (Acme)</a> '
        "the hand-off after the deadline" in body
    )
    assert "lead.accepted" in body  # the action's code stays, for filtering by it
    # an action nobody declared still reads, with its data as it is
    assert (
        f'<strong>The system</strong> sla.breached lead <a href="/leads/{lead.pk}/">Jane Doe (Acme)</a>'
        in body
    )
    assert "sla:</span> missed" in body


def test_the_trail_names_the_users_an_event_refers_to_with_one_query(
    client, manager, rep, other_rep, django_assert_max_num_queries
):
    lead = LeadFactory(first_name="Jane", last_name="Doe", company="Acme")
    for _ in range(30):
        record(actor=manager, action="lead.assigned", obj=lead, data={"from": rep.pk, "to": other_rep.pk})
    record(
        actor=manager, action="handoff.reassigned", obj=lead, data={"from": None, "to": rep.pk, "rule": ""}
    )
    client = signed_in(client, manager)
    # session, user, roles, one page of events with actors, the actor choices, + the users named in the data
    with django_assert_max_num_queries(6):
        body = " ".join(client.get("/audit/").content.decode().split())
    assert "<strong>Max Manager</strong> assigned lead" in body
    assert "Jane Doe (Acme)</a> from Sam Seller to Olli Other" in body
    assert "from nobody (the unassigned queue) to Sam Seller" in body


def test_a_deleted_objects_events_still_name_it(client, manager, rep):
    lead = LeadFactory(first_name="Gone", last_name="Away", company="")
    record(
        actor=rep, action="lead.moved", obj=lead, data={"from": "SAL", "to": "Lost", "reason": "no budget"}
    )
    lead.delete()
    body = " ".join(signed_in(client, manager).get("/audit/").content.decode().split())
    assert "moved lead <a" in body
    assert ">Gone Away</a> from SAL to Lost: “no budget”" in body


def test_audit_trail_filters_by_action_actor_and_days(client, manager, rep, other_rep):
    match = event_at("2026-11-10T12:00:00+00:00", actor=rep, action="lead.rejected")
    event_at("2026-11-10T12:00:00+00:00", actor=other_rep, action="lead.rejected")
    event_at("2026-11-10T12:00:00+00:00", actor=rep, action="token.created")
    event_at("2026-11-08T23:59:59+00:00", actor=rep, action="lead.rejected")
    event_at("2026-11-12T00:00:00+00:00", actor=rep, action="lead.rejected")
    params = {"action": "lead.", "actor": rep.pk, "since": "2026-11-09", "until": "2026-11-11"}
    response = signed_in(client, manager).get("/audit/", params)
    assert [event.pk for event in response.context["events"]] == [match.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-11-12", "until": "2026-11-01"},
        {"since": "yesterday"},
        {"until": "9999-12-31"},
        {"actor": "999999"},
        {"action": "x" * 65},
    ],
)
def test_bad_audit_filters_are_explained_not_crashing(client, manager, params):
    record(actor=None, action="visible")
    response = signed_in(client, manager).get("/audit/", params)
    assert response.status_code == 200
    assert b"Some filters are not valid" in response.content
    assert b"visible</code>" not in response.content


def test_audit_pages_walk_every_event_once_newest_first(client, manager):
    for index in range(120):  # all at one instant, so only the ids order them
        event_at("2026-10-01T00:00:00+00:00", actor=None, action=f"a.{index}")
    client = signed_in(client, manager)
    seen, cursor = [], None
    while True:
        page = client.get("/audit/", {"cursor": cursor} if cursor else {}).context["page"]
        seen.extend(event.pk for event in page.rows)
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == sorted(AuditEvent.objects.values_list("pk", flat=True), reverse=True)


@pytest.mark.parametrize("count", [30, 300])
def test_the_audit_trail_runs_a_constant_number_of_queries(
    client, manager, rep, django_assert_max_num_queries, count
):
    AuditEvent.objects.bulk_create(
        AuditEvent(actor=rep, action="lead.accepted", object_type="leads.lead", object_id=str(i))
        for i in range(count)
    )
    client = signed_in(client, manager)
    # session, user, roles, one page of events with actors, the actor choices
    with django_assert_max_num_queries(5):
        response = client.get("/audit/")
    assert len(response.context["events"]) == min(count, 50)


def test_audit_csv_downloads_the_filtered_events_escaped(client, manager, rep):
    record(actor=rep, action="=HYPERLINK()", data={"why": "test"})
    record(actor=rep, action="token.created")
    response = signed_in(client, manager).get("/audit/", {"action": "=", "format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    rows = csv_rows(response)
    assert len(rows) == 1
    assert rows[0]["action"] == "'=HYPERLINK()"
    assert rows[0]["actor"] == "rep"
    assert rows[0]["data"] == '{"why": "test"}'
    assert rows[0]["what"] == "Sam Seller =HYPERLINK()"


def test_an_htmx_request_gets_only_the_audit_results(client, manager):
    response = signed_in(client, manager).get("/audit/", headers={"HX-Request": "true"})
    assert response.content.decode().lstrip().startswith('<section id="results"')


def test_a_server_error_page_fits_the_layout_without_needing_the_database(rf):
    from core.errors_pages import server_error

    response = server_error(rf.get("/leads/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b'class="topbar"' in response.content
