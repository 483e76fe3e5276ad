"""The sweep runs every minute over every lead, so PostgreSQL must answer it from indexes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.maintenance_sql import analyze
from leads.models import Activity, Lead
from scoring.qualification import active_scoring_model
from scoring.sweep import stale_querysets
from tests.conftest import needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db]

LEADS = 5000


@pytest.fixture
def scored_leads():
    """Thousands of leads, all scored by the active model, with old activities; statistics up to date."""
    now = timezone.now()
    then = now - timedelta(days=1)
    version = active_scoring_model().version
    leads = Lead.objects.bulk_create(
        Lead(
            email=f"plan-{i}@example.com",
            created_at=then,
            updated_at=then,
            scored_at=then,
            scoring_version=version,
        )
        for i in range(LEADS)
    )
    Activity.objects.bulk_create(
        Activity(lead=lead, type="page_view", occurred_at=now - timedelta(days=30)) for lead in leads
    )
    Activity.objects.update(created_at=now - timedelta(days=30))
    assert analyze(models=[Lead, Activity]) == ["leads_activity", "leads_lead"]
    return version


def test_the_stale_lead_query_reads_the_partial_and_the_version_index_not_the_table(scored_leads):
    stale_leads, _ = stale_querysets(now=timezone.now(), version=scored_leads)
    plan = stale_leads.values_list("pk", flat=True).explain()
    assert "lead_score_stale_idx" in plan
    assert "lead_scoring_version_idx" in plan
    assert "Seq Scan on leads_lead" not in plan


def test_the_recent_activity_query_reads_the_created_at_index(scored_leads):
    _, recent = stale_querysets(now=timezone.now(), version=scored_leads)
    plan = recent.values_list("lead_id", flat=True).distinct().explain()
    assert "activity_created_idx" in plan
    assert "Seq Scan on leads_activity" not in plan
