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
