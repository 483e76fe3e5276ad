"""ANALYZE after big writes (PostgreSQL only; SQLite has nothing to do)."""

from __future__ import annotations

import pytest

from core.maintenance_sql import analyze, busy_tables
from leads.models import Lead, Transition
from tests.conftest import ON_POSTGRES, needs_postgres

pytestmark = pytest.mark.django_db


def test_analyze_refreshes_the_statistics_of_each_table_named_once():
    expected = ["leads_lead", "leads_transition"] if ON_POSTGRES else []
    assert analyze(models=[Transition, Lead, Lead]) == expected


@needs_postgres
def test_a_table_just_analyzed_is_not_busy():
    analyze(models=[Lead])
    assert busy_tables(tables=["leads_lead"]) == []


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_search_table_kept_by_triggers_is_analyzed_when_busy():
    from django.db import connection
    from django.utils import timezone

    from core.maintenance_sql import analyze_busy_tables
    from leads.models import LeadSearch

    table = LeadSearch._meta.db_table
    analyze(models=[LeadSearch])
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(email=f"busy{i}@example.com", created_at=now, updated_at=now) for i in range(1500)
    )
    with connection.cursor() as cursor:  # report the insert's counts now, not within the next second
        cursor.execute("SELECT pg_stat_force_next_flush()")
    assert busy_tables(tables=[table]) == [table]
    assert table in analyze_busy_tables()
    assert busy_tables(tables=[table]) == []


@needs_postgres
def test_rows_the_current_transaction_wrote_count_towards_stale_statistics():
    from django.utils import timezone

    from core.maintenance_sql import analyze_stale

    analyze(models=[Lead, Transition])
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(email=f"stale{i}@example.com", created_at=now, updated_at=now) for i in range(300)
    )
    # Not committed: only this transaction's own counts know of them.
    assert busy_tables(tables=["leads_lead"]) == []  # the periodic check's floor is 1,000 rows
    assert analyze_stale(models=[Lead, Transition]) == ["leads_lead"]
