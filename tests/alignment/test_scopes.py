"""Scopes are stored as a kind and a foreign key: renaming a slug keeps goals and snapshots attached."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from alignment.dashboard_filters import filter_options
from alignment.forms import GoalAdminForm
from alignment.models import Goal, KpiSnapshot
from alignment.scopes import ALL, InvalidScope, Scope, resolve_scope
from alignment.snapshots import compute_snapshots
from leads.models import Campaign
from tests.alignment.pipeline import at, journey
from tests.conftest import client_for
from tests.factories import CampaignFactory, PersonaFactory, UserFactory


@pytest.fixture
def webinar(db, rep):
    campaign = CampaignFactory(slug="webinar")
    for day in (2, 3):
        journey(created=at(11, 1), campaign=campaign, source="web", owner=rep).to("mql", at(11, day))
    compute_snapshots(period="2026-11", now=at(12, 1))
    return campaign


def test_a_scope_is_resolved_to_its_kind_and_id(webinar, rep):
    ops = PersonaFactory(slug="ops")

    assert resolve_scope(" all ") == ALL
    assert resolve_scope("campaign:webinar") == Scope(
        kind="campaign", ref=webinar.pk, text="campaign:webinar"
    )
    assert resolve_scope("persona:ops") == Scope(kind="persona", ref=ops.pk, text="persona:ops")
    assert resolve_scope(f"rep:{rep.pk}").columns() == {
        "campaign_id": None,
        "persona_id": None,
        "rep_id": rep.pk,
    }
    with pytest.raises(InvalidScope, match="No campaign 'gone'"):
        resolve_scope("campaign:gone")


def test_renaming_a_campaign_keeps_its_goal_and_snapshots(webinar, manager, rep):
    created = client_for(manager).post(
        "/api/v1/goals/",
        {
            "name": "Webinar MQLs",
            "metric": "mqls",
            "target": 4,
            "period": "2026-11",
            "scope": "campaign:webinar",
        },
        format="json",
    )
    assert created.status_code == 201
    snapshots = KpiSnapshot.objects.filter(campaign=webinar).count()

    Campaign.objects.filter(pk=webinar.pk).update(slug="webinar-2026")

    goal = client_for(rep).get(f"/api/v1/goals/{created.json()['id']}/").json()
    assert goal["scope"] == "campaign:webinar-2026"
    assert goal["progress"]["value"] == 2
    kpis = (
        client_for(rep).get("/api/v1/kpis/", {"period": "2026-11", "scope": "campaign:webinar-2026"}).json()
    )
    assert (kpis["scope"], kpis["metrics"]["mqls"]) == ("campaign:webinar-2026", 2)
    old = client_for(rep).get("/api/v1/kpis/", {"period": "2026-11", "scope": "campaign:webinar"})
    assert old.status_code == 400
    # A refresh updates the same rows.
    compute_snapshots(period="2026-11", now=at(12, 2))
    assert KpiSnapshot.objects.filter(campaign=webinar).count() == snapshots
    assert KpiSnapshot.objects.get(campaign=webinar, metric="mqls").value == 2


def test_a_goal_scope_is_written_and_read_as_text(webinar, manager):
    client = client_for(manager)
    goal = client.post(
        "/api/v1/goals/",
        {"name": "All MQLs", "metric": "mqls", "target": 4, "period": "2026-11"},
        format="json",
    ).json()
    assert goal["scope"] == "all"

    changed = client.patch(f"/api/v1/goals/{goal['id']}/", {"scope": "campaign:webinar"}, format="json")

    assert changed.json()["scope"] == "campaign:webinar"
    stored = Goal.objects.get()
    assert (stored.scope_kind, stored.campaign_id, stored.persona_id, stored.rep_id) == (
        "campaign",
        webinar.pk,
        None,
        None,
    )


def test_the_database_refuses_a_scope_that_does_not_fit_its_kind(webinar):
    with pytest.raises(IntegrityError), transaction.atomic():
        Goal.objects.create(name="x", metric="mqls", target=1, period="2026-11", scope_kind="campaign")
    with pytest.raises(IntegrityError), transaction.atomic():
        Goal.objects.create(name="x", metric="mqls", target=1, period="2026-11", campaign=webinar)


def test_one_snapshot_per_metric_period_and_scope(webinar):
    row = KpiSnapshot.objects.filter(campaign=webinar, metric="mqls").get()
    with pytest.raises(IntegrityError), transaction.atomic():
        KpiSnapshot.objects.create(
            metric="mqls",
            period="2026-11",
            scope_kind="campaign",
            campaign=webinar,
            computed_at=row.computed_at,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        KpiSnapshot.objects.create(
            metric="mqls", period="2026-11", scope_kind="all", computed_at=row.computed_at
        )


def test_a_goal_on_a_campaign_keeps_the_campaign_from_being_deleted(webinar):
    Goal.objects.create(
        name="x", metric="mqls", target=1, period="2026-11", scope=resolve_scope("campaign:webinar")
    )

    with pytest.raises(Exception, match="protected"), transaction.atomic():
        webinar.delete()


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_scope_text_into_kinds_and_keys(rep):
    campaign, persona = CampaignFactory(slug="webinar"), PersonaFactory(slug="ops")
    texts = ["all", "campaign:webinar", "persona:ops", f"rep:{rep.pk}", "campaign:gone", "rep:99999999"]
    executor = MigrationExecutor(connection)
    executor.migrate([("alignment", "0002_scope_columns")])
    try:
        old = executor.loader.project_state([("alignment", "0002_scope_columns")]).apps
        now = timezone.now()
        for text in texts:
            old.get_model("alignment", "KpiSnapshot").objects.create(
                metric="mqls", period="2026-11", scope=text, value=1, computed_at=now
            )
            old.get_model("alignment", "Goal").objects.create(
                name=text, metric="mqls", target=1, period="2026-11", scope=text
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    expected = {
        ("all", None, None, None),
        ("campaign", campaign.pk, None, None),
        ("persona", None, persona.pk, None),
        ("rep", None, None, rep.pk),
    }
    columns = ("scope_kind", "campaign_id", "persona_id", "rep_id")
    assert set(KpiSnapshot.objects.values_list(*columns)) == expected
    assert set(Goal.objects.values_list(*columns)) == expected  # the orphaned ones named nothing: dropped
    assert {goal.scope for goal in Goal.objects.with_scope()} == set(texts[:4])


def test_the_admin_form_writes_a_scope_from_its_text(webinar):
    form = GoalAdminForm(
        data={"name": "x", "metric": "mqls", "target": "1", "period": "2026-11", "scope": "campaign:webinar"}
    )
    assert form.is_valid(), form.errors
    goal = form.save()

    assert (goal.scope_kind, goal.campaign_id) == ("campaign", webinar.pk)
    assert GoalAdminForm(instance=goal).initial["scope"] == "campaign:webinar"


def test_the_filters_offer_every_campaign_persona_sales_rep_and_reject_reason_sorted_by_label(db, rep):
    CampaignFactory(slug="webinar", name="Spring webinar")
    CampaignFactory(slug="ads", name="autumn ads")
    PersonaFactory(slug="ops", name="Ops leader")
    unnamed = UserFactory(username="zed", roles=["sales"])
    UserFactory(username="mia", first_name="Mia", last_name="", roles=["marketing"])
    options = filter_options()
    assert [(o.value, o.label) for o in options.of("campaign")] == [
        ("ads", "autumn ads"),
        ("webinar", "Spring webinar"),
    ]
    assert [(o.value, o.label) for o in options.of("persona")] == [("ops", "Ops leader")]
    assert [(o.ref, o.value, o.label) for o in options.of("rep")] == [
        (rep.pk, str(rep.pk), "Sam Seller"),
        (unnamed.pk, str(unnamed.pk), "zed"),
    ]
    reasons = options.reason_labels()
    assert reasons["no-budget"] == "No budget"
    assert list(reasons.values()) == sorted(reasons.values(), key=str.lower)
    webinar = Campaign.objects.get(slug="webinar")
    assert options.scope_labels()[("campaign", webinar.pk)] == "Spring webinar"
