"""The queue page at volume: rows arrive ready to print, the reject form is written once per page, and a
page's SQL reads no more than the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import clear_script_prefix, reverse, set_script_prefix
from django.utils import timezone

from funnel import promotion
from funnel.models import Handoff
from funnel.queue import PAGE_SIZE, QueueFilter, breakdown_summary, queue_page
from leads.models import Lead, RejectReason
from tests.factories import CampaignFactory
from tests.funnel.conftest import qualified

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(scoring_model, rep, other_rep):
    """Three hand-offs: a named lead from a campaign, a lead known only by e-mail, and an unassigned one."""
    webinar = CampaignFactory(name="Spring webinar")
    named = qualified(
        first_name="Ada",
        last_name="Keeper",
        job_title="VP Operations",
        company="Northwind",
        campaign=webinar,
        score=85,
        grade="A",
        score_breakdown=[
            {"rule": "Pricing page", "points": 12},
            {"rule": "Unsubscribed", "points": -40},
            {"rule": "VP title", "points": 30},
            {"rule": "Webinar", "points": 5},
        ],
    )
    anonymous = qualified(first_name="", last_name="", job_title="", company="", email="who@example.com")
    unassigned = qualified(first_name="Una", last_name="Signed", job_title="", company="Solo")
    promotion.promote_qualified_leads()
    Handoff.objects.filter(lead=unassigned).update(rep=None)
    base = datetime(2026, 12, 2, 13, 5, tzinfo=UTC)
    for minutes, lead in enumerate((named, anonymous, unassigned)):
        Handoff.objects.filter(lead=lead).update(sla_due_at=base + timedelta(minutes=minutes))
    Handoff.objects.filter(lead=named).update(breached_at=base)
    return named, anonymous, unassigned


def test_the_breakdown_summary_names_the_rules_that_weigh_most_either_way():
    breakdown = [
        {"rule": "Pricing page", "points": 12},
        {"rule": "Unsubscribed", "points": -40},
        "not a line",
        {"rule": "VP title", "points": 30},
        {"rule": "Webinar", "points": 5},
    ]
    assert breakdown_summary(breakdown) == "Unsubscribed -40, VP title +30, Pricing page +12"
    assert breakdown_summary(None) == ""


@override_settings(TIME_ZONE="Europe/Berlin")
def test_queue_rows_carry_what_the_page_prints(waiting, manager, rep):
    named, anonymous, unassigned = waiting
    now = datetime(2026, 12, 2, 13, 5, 30, tzinfo=UTC)
    with timezone.override("Europe/Berlin"):
        rows = queue_page(user=manager, show=QueueFilter(), cursor=None, now=now).rows
    assert [row.lead_id for row in rows] == [named.pk, anonymous.pk, unassigned.pk]
    first, second, third = rows
    assert first.pk == Handoff.objects.get(lead=named).pk
    assert first.lead_name == "Ada Keeper"
    assert first.lead_context == "VP Operations · Northwind · Spring webinar"
    assert (first.score, first.grade) == (85, "A")
    assert first.summary == "Unsubscribed -40, VP title +30, Pricing page +12"
    assert (first.rep_id, first.rep_name) == (rep.pk, "Sam Seller")
    # the deadline in the current time zone: 13:05 UTC is 14:05 in Berlin in December
    assert (first.due_iso, first.due_text) == ("2026-12-02T14:05:00+01:00", "Dec 2, 14:05")
    assert (first.overdue, first.breached) == (True, True)
    assert (second.lead_name, second.lead_context) == ("who@example.com", "")
    assert (second.overdue, second.breached) == (False, False)
    assert (third.rep_id, third.rep_name, third.lead_context) == (None, "", "Solo")


def test_the_page_shows_the_rows_values_and_the_unassigned_badge(client, waiting, manager):
    named, anonymous, unassigned = waiting
    client.force_login(manager)
    html = client.get("/queue/").content.decode()
    assert f'<a href="/leads/{named.pk}/">Ada Keeper</a>' in html
    assert "VP Operations · Northwind · Spring webinar" in html
    assert f'<a href="/leads/{anonymous.pk}/">who@example.com</a>' in html
    assert 'datetime="2026-12-02T13:05:00+00:00"' in html
    assert ">Dec 2, 13:05</time>" in html
    row = html[html.index(f'id="handoff-{unassigned.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge">Unassigned</span>' in row


def test_the_reject_form_is_written_once_whatever_the_number_of_rows(client, scoring_model, rep):
    for _ in range(PAGE_SIZE + 5):
        qualified()
    promotion.promote_qualified_leads()
    client.force_login(rep)
    html = client.get("/queue/").content.decode()
    mine = list(Handoff.objects.filter(rep=rep, status="open").values_list("lead_id", flat=True))
    shown = [lead_id for lead_id in mine if f'id="handoff-{lead_id}"' in html]
    assert len(shown) == min(len(mine), PAGE_SIZE) > 1
    assert html.count('name="reason"') == 1
    assert html.count('<template id="reject-picker">') == 1
    for reason in RejectReason.objects.filter(active=True):
        assert html.count(f'<option value="{reason.slug}">') == 1
    for lead_id in shown:  # each row opens the one form, or without JavaScript links to it
        assert f'<a class="reject-fallback" href="/queue/{lead_id}/reject/">' in html


def test_without_javascript_a_rep_rejects_on_the_reject_page(client, waiting, rep):
    named = waiting[0]
    client.force_login(rep)
    page = client.get(f"/queue/{named.pk}/reject/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reject Ada Keeper" in html
    assert f'<form method="post" action="/queue/{named.pk}/reject/">' in html
    assert "hx-post" not in html  # a plain form: the answer is the queue again, with a message
    assert f'id="reason-{named.pk}"' in html
    assert '<option value="no-budget">No budget</option>' in html
    response = client.post(f"/queue/{named.pk}/reject/", {"reason": "no-budget", "note": "Next year"})
    assert (response.status_code, response["Location"]) == (302, "/queue/")
    handoff = Handoff.objects.get(lead=named)
    assert (handoff.status, handoff.reject_reason.slug) == ("rejected", "no-budget")
    assert handoff.note == "Next year"


def test_the_reject_page_is_for_sales_and_managers_only(client, waiting, marketer):
    client.force_login(marketer)
    assert client.get(f"/queue/{waiting[0].pk}/reject/").status_code == 403


def test_a_rep_gets_no_reject_page_for_a_lead_that_does_not_exist(client, waiting, rep):
    client.force_login(rep)
    missing = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    assert client.get(f"/queue/{missing}/reject/").status_code == 404


def test_the_keyset_scan_reads_only_the_key_and_the_rows_are_loaded_by_id(waiting, manager):
    with CaptureQueriesContext(connection) as queries:
        page = queue_page(user=manager, show=QueueFilter(), cursor=None, now=timezone.now())
    assert len(page.rows) == 3
    scan, rows = (query["sql"] for query in queries.captured_queries if "funnel_handoff" in query["sql"])
    selected = scan[: scan.upper().index(" FROM ")]
    assert "JOIN" not in scan.upper()
    assert "sla_due_at" in selected
    assert "leads_lead" not in selected
    assert "score_breakdown" not in selected
    assert "JOIN" in rows.upper()
    assert " IN (" in rows.upper()
    assert "LIMIT" not in rows.upper()


@pytest.mark.parametrize("prefix", ["/", "/crm/", "/987654321/"])
def test_row_links_are_the_reversed_urls_whatever_the_script_prefix(waiting, manager, prefix):
    set_script_prefix(prefix)
    try:
        rows = queue_page(user=manager, show=QueueFilter(), cursor=None, now=timezone.now()).rows
        expected = [
            (
                reverse("leads:detail", args=[lead.pk]),
                reverse("funnel:accept", args=[lead.pk]),
                reverse("funnel:reject", args=[lead.pk]),
            )
            for lead in waiting
        ]
    finally:
        clear_script_prefix()
    assert [(row.lead_url, row.accept_url, row.reject_url) for row in rows] == expected
    assert expected[0][1] == f"{prefix}queue/{waiting[0].pk}/accept/"


def test_a_pager_link_costs_five_queries_and_carries_no_reject_form(
    client, waiting, manager, django_assert_num_queries
):
    client.force_login(manager)
    client.get("/queue/")
    # session, user, roles, the keyset scan, the page's rows: no reasons, reps or summary for the rows alone
    with django_assert_num_queries(5):
        response = client.get("/queue/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert 'name="reason"' not in html
    assert html.count('class="reject-fallback"') == 3
