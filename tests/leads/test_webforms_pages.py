"""The web form pages at /forms/: define, embed, submissions per day and conversion down the funnel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Activity, Stage, Transition, WebForm
from leads.webforms import create_web_form
from leads.webforms_report import conversion, form_lead_count, submissions_per_day
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def web_form(marketer) -> WebForm:
    return create_web_form(definition={"name": "Webinar sign-up"}, actor=marketer)


def submitted(form: WebForm, lead, *, days_ago: int = 0) -> Activity:
    return Activity.objects.create(
        lead=lead,
        type="form_submit",
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        metadata={"form": form.key},
    )


def reached(lead, *slugs: str) -> None:
    stages = {stage.slug: stage for stage in Stage.objects.all()}
    previous = stages["inquiry"]
    for slug in slugs:
        Transition.objects.create(lead=lead, from_stage=previous, to_stage=stages[slug], at=timezone.now())
        previous = stages[slug]


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/forms/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/forms/"


@pytest.mark.parametrize("who", ["rep", "nobody"])
def test_sales_and_users_in_no_team_get_403(client, request, who, web_form):
    client = signed_in(client, request.getfixturevalue(who))
    for path in ("/forms/", "/forms/new/", f"/forms/{web_form.pk}/", f"/forms/{web_form.pk}/edit/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/forms/{web_form.pk}/delete/").status_code == 403
    assert WebForm.objects.filter(pk=web_form.pk).exists()


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_see_forms_in_their_navigation(client, request, who, web_form):
    response = signed_in(client, request.getfixturevalue(who)).get("/forms/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/forms/" aria-current="page"' in page
    assert "Webinar sign-up" in page


def test_sales_do_not_see_the_forms_link(client, rep):
    assert 'href="/forms/"' not in signed_in(client, rep).get("/").content.decode()


def test_a_marketer_creates_a_form_on_the_page(client, marketer):
    CampaignFactory(slug="spring", name="Spring")
    response = signed_in(client, marketer).post(
        "/forms/new/",
        {
            "name": "Demo request",
            "campaign": "spring",
            "ask_first_name": "on",
            "required_first_name": "on",
            "label_first_name": "Your first name",
            "ask_company": "on",
            "thank_you": "Thanks!",
            "allowed_origins": "https://www.example.com/\n\nhttps://shop.example.com",
            "active": "on",
        },
    )
    form = WebForm.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/forms/{form.pk}/"
    assert form.fields == [
        {"name": "email", "required": True, "label": "E-mail"},
        {"name": "first_name", "required": True, "label": "Your first name"},
        {"name": "company", "required": False, "label": "Company"},
    ]
    assert form.campaign.slug == "spring"
    assert form.allowed_origins == ["https://www.example.com", "https://shop.example.com"]
    assert form.active is True


def test_bad_settings_show_the_page_again_with_messages(client, marketer):
    response = signed_in(client, marketer).post(
        "/forms/new/", {"name": "", "redirect_url": "javascript:alert(1)", "allowed_origins": "not an origin"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "Enter an http or https address." in page
    assert "is not an origin" in page
    assert not WebForm.objects.exists()


def test_editing_keeps_the_key_and_shows_the_current_definition(client, marketer, web_form):
    client = signed_in(client, marketer)
    page = client.get(f"/forms/{web_form.pk}/edit/").content.decode()
    assert 'value="Webinar sign-up"' in page
    response = client.post(
        f"/forms/{web_form.pk}/edit/", {"name": "Webinar", "ask_phone": "on", "required_phone": "on"}
    )
    assert response.status_code == 302
    changed = WebForm.objects.get()
    assert (changed.name, changed.key, changed.active) == ("Webinar", web_form.key, False)
    assert [item["name"] for item in changed.fields] == ["email", "phone"]


def test_deleting_a_form_keeps_its_leads(client, marketer, web_form):
    submitted(web_form, LeadFactory())
    response = signed_in(client, marketer).post(f"/forms/{web_form.pk}/delete/")
    assert response.status_code == 302
    assert not WebForm.objects.exists()
    assert Activity.objects.count() == 1


def test_the_form_page_shows_the_snippet_submissions_per_day_and_conversion(
    client, manager, web_form, django_assert_max_num_queries
):
    leads = LeadFactory.create_batch(4)
    for lead in leads:
        submitted(web_form, lead)
    submitted(web_form, leads[0], days_ago=2)
    submitted(web_form, leads[1], days_ago=40)  # before the chart's 30 days
    submitted(create_web_form(definition={"name": "Other"}, actor=manager), LeadFactory())
    reached(leads[0], "mql", "sal", "sql", "opportunity", "won")
    reached(leads[1], "mql", "sal")
    reached(leads[2], "mql")

    client = signed_in(client, manager)
    with django_assert_max_num_queries(10):
        response = client.get(f"/forms/{web_form.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"action=&quot;http://testserver/f/{web_form.key}/&quot;" in page, (
        "the snippet, escaped in a textarea"
    )
    assert f"http://testserver/f/{web_form.key}/" in page
    assert "5 in the last 30 days." in page
    assert "4 leads sent this form" in page
    steps = {step.kind: (step.leads, step.share) for step in response.context["conversion"]}
    assert steps == {"mql": (3, 0.75), "sal": (2, 0.5), "sql": (1, 0.25), "won": (1, 0.25)}
    assert 'src="/static/js/webforms.js"' in page


def test_submissions_per_day_count_each_day_of_the_window(web_form):
    lead = LeadFactory()
    submitted(web_form, lead)
    submitted(web_form, lead)
    submitted(web_form, lead, days_ago=6)
    days = submissions_per_day(form=web_form, days=7)
    assert len(days) == 7
    assert days[-1].day == timezone.localdate()
    assert [day.submissions for day in days] == [1, 0, 0, 0, 0, 0, 2]


def test_a_form_without_leads_has_no_conversion_shares(web_form):
    assert form_lead_count(form=web_form) == 0
    assert [step.share for step in conversion(form=web_form, leads=0)] == [None, None, None, None]


def test_the_list_counts_submissions_per_form(client, marketer, web_form, django_assert_max_num_queries):
    other = create_web_form(definition={"name": "Other"}, actor=marketer)
    for lead in LeadFactory.create_batch(3):
        submitted(web_form, lead)
    submitted(other, LeadFactory())
    client = signed_in(client, marketer)
    with django_assert_max_num_queries(8):
        response = client.get("/forms/")
    rows = {row["form"].name: row["submissions"] for row in response.context["rows"]}
    assert rows == {"Webinar sign-up": 3, "Other": 1}


def test_labels_are_escaped_in_the_snippet_and_on_the_page(client, marketer):
    form = create_web_form(
        definition={"name": "X", "fields": [{"name": "email", "required": True, "label": "<b>Mail</b>"}]},
        actor=marketer,
    )
    page = signed_in(client, marketer).get(f"/forms/{form.pk}/").content.decode()
    assert "<b>Mail</b>" not in page
    assert "&amp;lt;b&amp;gt;Mail" in page, "the snippet keeps the label escaped when copied"
