"""Editing a lead's fields (the inline form, its page, the API PATCH) and the "new lead" form on /leads/."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from leads.models import Lead, LeadChange
from leads.timeline import lead_timeline
from tests.conftest import client_for
from tests.factories import LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def form_data(lead: Lead, **changes) -> dict[str, str]:
    """What the edit form posts when a person changes only ``changes``."""
    data = {
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "seniority": lead.seniority,
        "is_decision_maker": "" if lead.is_decision_maker is None else str(lead.is_decision_maker).lower(),
        "company_size": "" if lead.company_size is None else str(lead.company_size),
        "industry": lead.industry,
        "country": lead.country,
        "phone": lead.phone,
        "persona": lead.persona.slug if lead.persona else "",
        "campaign": lead.campaign.slug if lead.campaign else "",
        "source": lead.source,
        "utm_source": lead.utm_source,
        "utm_medium": lead.utm_medium,
        "utm_campaign": lead.utm_campaign,
        "external_id": lead.external_id,
        "consent": "" if lead.consent is None else str(lead.consent).lower(),
    }
    data.update(changes)
    return data


# --- Who may edit -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_may_edit_any_lead(client, request, who):
    lead = LeadFactory(job_title="CTO")
    response = signed_in(client, request.getfixturevalue(who)).post(
        f"/leads/{lead.pk}/edit/", form_data(lead, job_title="CEO")
    )
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.job_title == "CEO"


def test_a_rep_edits_its_own_leads_but_not_another_reps(client, rep, other_rep):
    mine, theirs = LeadFactory(owner=rep, stage="sal"), LeadFactory(owner=other_rep, stage="sal")
    client = signed_in(client, rep)
    assert client.post(f"/leads/{mine.pk}/edit/", form_data(mine, company="Mine Ltd")).status_code == 302
    response = client.post(f"/leads/{theirs.pk}/edit/", form_data(theirs, company="Stolen"))
    assert response.status_code == 403
    assert client.get(f"/leads/{theirs.pk}/edit/").status_code == 403
    theirs.refresh_from_db()
    assert theirs.company != "Stolen"
    # The lead's page offers "Edit" only where it works.
    assert f'href="/leads/{mine.pk}/edit/"' in client.get(f"/leads/{mine.pk}/").content.decode()
    assert f'href="/leads/{theirs.pk}/edit/"' not in client.get(f"/leads/{theirs.pk}/").content.decode()


def test_the_api_patch_follows_the_same_rule(rep, other_rep):
    mine, theirs = LeadFactory(owner=rep, stage="sal"), LeadFactory(owner=other_rep, stage="sal")
    api = client_for(rep, scopes=["read", "write"])
    assert api.patch(f"/api/v1/leads/{mine.pk}/", {"company": "Mine"}, format="json").status_code == 200
    response = api.patch(f"/api/v1/leads/{theirs.pk}/", {"company": "Stolen"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert api.patch("/api/v1/leads/999999/", {"company": "X"}, format="json").status_code == 404


def test_people_in_no_team_and_anonymous_visitors_cannot_edit(client, nobody):
    lead = LeadFactory()
    assert client.get(f"/leads/{lead.pk}/edit/").status_code == 302
    assert signed_in(client, nobody).post(f"/leads/{lead.pk}/edit/", form_data(lead)).status_code == 403


# --- What an edit writes ------------------------------------------------------------------------------


def test_an_edit_writes_history_audit_and_timeline_for_changed_fields_only(client, marketer):
    persona = PersonaFactory(slug="ops", name="Operations")
    lead = LeadFactory(job_title="CTO", country="", company="Acme")
    response = signed_in(client, marketer).post(
        f"/leads/{lead.pk}/edit/", form_data(lead, job_title="CEO", country="NL", persona="ops")
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.job_title, lead.country, lead.persona_id) == ("CEO", "NL", persona.pk)
    change = LeadChange.objects.get(lead=lead)
    assert change.actor == marketer
    assert change.changes == {
        "job_title": {"from": "CTO", "to": "CEO"},
        "country": {"from": "", "to": "NL"},
        "persona": {"from": None, "to": "ops"},
    }
    event = AuditEvent.objects.get(action="lead.updated")
    assert (event.actor, event.object_type, event.object_id) == (marketer, "leads.lead", str(lead.pk))
    assert event.data["changes"] == change.changes
    items = lead_timeline(lead=lead).items
    entry = next(item for item in items if item["type"] == "change")
    assert entry["actor_name"] == "Mia Marketer"
    assert "Job title: CTO → CEO" in entry["summary"]
    assert {"field": "persona", "from": None, "to": "ops"} in entry["changes"]
    body = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Job title: CTO → CEO" in body


def test_saving_an_unchanged_form_writes_nothing(client, marketer):
    lead = LeadFactory(job_title="CTO")
    before = lead.updated_at
    response = signed_in(client, marketer).post(f"/leads/{lead.pk}/edit/", form_data(lead))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.updated_at == before
    assert not LeadChange.objects.exists()
    assert not AuditEvent.objects.filter(action="lead.updated").exists()


def test_the_api_patch_records_its_change_too(full_client, marketer):
    lead = LeadFactory(company="Old")
    full_client.patch(f"/api/v1/leads/{lead.pk}/", {"company": "New"}, format="json")
    assert LeadChange.objects.get(lead=lead).changes == {"company": {"from": "Old", "to": "New"}}
    assert AuditEvent.objects.get(action="lead.updated").actor == marketer
    timeline = full_client.get(f"/api/v1/leads/{lead.pk}/timeline/").json()["results"]
    assert timeline[0]["type"] == "change"
    assert timeline[0]["changes"] == [{"field": "company", "from": "Old", "to": "New"}]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"company": "bad\x00name"}, "company"),
        ({"company_size": "0"}, "company_size"),
        ({"country": "XX"}, "country"),
        ({"persona": "nope"}, "persona"),
        ({"seniority": "emperor"}, "seniority"),
        ({"job_title": "x" * 500}, "job_title"),
    ],
)
def test_invalid_values_are_shown_on_the_form_and_nothing_changes(client, marketer, changes, field):
    lead = LeadFactory(company="Acme")
    response = signed_in(client, marketer).post(f"/leads/{lead.pk}/edit/", form_data(lead, **changes))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert 'class="field-errors"' in response.content.decode()
    assert not LeadChange.objects.exists()


def test_an_email_another_lead_has_is_refused(client, marketer):
    LeadFactory(email="taken@example.com")
    lead = LeadFactory()
    response = signed_in(client, marketer).post(
        f"/leads/{lead.pk}/edit/", form_data(lead, email="TAKEN@example.com")
    )
    assert response.status_code == 400
    assert "Another lead already has this e-mail address." in response.content.decode()


# --- Inline with htmx ---------------------------------------------------------------------------------


def test_htmx_swaps_the_profile_for_the_form_and_back(client, marketer):
    lead = LeadFactory(job_title="CTO")
    client = signed_in(client, marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'hx-get="/leads/{lead.pk}/edit/" hx-target="#profile"' in page
    form = client.get(f"/leads/{lead.pk}/edit/", headers={"HX-Request": "true"})
    body = form.content.decode()
    assert '<section id="profile"' in body
    assert "<html" not in body
    assert 'name="job_title"' in body
    assert 'value="CTO"' in body
    saved = client.post(
        f"/leads/{lead.pk}/edit/", form_data(lead, job_title="CEO"), headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200
    assert saved["HX-Trigger"] == "lead-changed"
    assert '<dl class="facts">' in saved.content.decode()
    assert "CEO" in saved.content.decode()
    bad = client.post(
        f"/leads/{lead.pk}/edit/", form_data(lead, company_size="-3"), headers={"HX-Request": "true"}
    )
    assert bad.status_code == 200  # htmx swaps only 2xx: the form comes back with its errors
    assert 'class="field-errors"' in bad.content.decode()
    cancel = client.get(f"/leads/{lead.pk}/profile/", headers={"HX-Request": "true"})
    assert '<dl class="facts">' in cancel.content.decode()


# --- New lead -----------------------------------------------------------------------------------------


def test_the_list_links_to_the_new_lead_form(client, rep):
    assert 'href="/leads/new/"' in signed_in(client, rep).get("/leads/").content.decode()


def test_a_new_lead_is_created_with_an_audit_event_and_starts_in_inquiry(client, marketer):
    response = signed_in(client, marketer).post(
        "/leads/new/",
        {"email": " Ada@Example.com ", "first_name": "Ada", "seniority": "vp", "consent": "true"},
    )
    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert (lead.email, lead.first_name, lead.seniority, lead.consent) == (
        "ada@example.com",
        "Ada",
        "vp",
        True,
    )
    assert lead.stage_id == "inquiry"
    assert AuditEvent.objects.get(action="lead.created").actor == marketer


def test_a_new_lead_with_an_existing_email_points_to_that_lead_and_changes_nothing(client, marketer):
    existing = LeadFactory(email="ada@example.com", company="Old Co")
    response = signed_in(client, marketer).post(
        "/leads/new/", {"email": "ADA@example.com", "company": "New Co"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert f'href="/leads/{existing.pk}/"' in body
    assert "already exists" in body
    existing.refresh_from_db()
    assert existing.company == "Old Co"
    assert Lead.objects.count() == 1
    assert not AuditEvent.objects.filter(action="lead.created").exists()


def test_a_new_lead_needs_a_valid_email(client, marketer):
    response = signed_in(client, marketer).post("/leads/new/", {"email": "", "first_name": "X"})
    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert not Lead.objects.exists()
