"""The full rescore reads a range of leads' activities from one covering index, never the table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.maintenance_sql import analyze
from leads.models import Activity, ActivityType, Lead
from scoring import scoring_sql
from scoring.qualification import active_scoring_model
from scoring.rules import compile_model
from tests.conftest import needs_postgres

pytestmark = pytest.mark.django_db

INDEX = "activity_lead_recent_idx"


def _activity_indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Activity._meta.db_table)
    return {name: c for name, c in constraints.items() if c["index"] and not c["primary_key"]}


def test_a_leads_activities_have_one_index_newest_first():
    indexes = _activity_indexes()
    assert indexes[INDEX]["columns"][:3] == ["lead_id", "occurred_at", "id"]
    assert indexes[INDEX]["orders"][:3] == ["ASC", "DESC", "DESC"]
    # The foreign key's index and the old (lead, time) one were prefixes of it: neither is kept beside it.
    assert [name for name, c in indexes.items() if c["columns"][0] == "lead_id"] == [INDEX]


@needs_postgres
def test_the_index_holds_every_column_the_rescore_reads_of_an_activity():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX])
        (definition,) = cursor.fetchone()
    assert definition.endswith("(lead_id, occurred_at DESC, id DESC) INCLUDE (type)")


@needs_postgres
def test_the_range_statement_scans_activities_from_the_index_alone():
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        Lead(email=f"plan-{i}@example.com", created_at=now, updated_at=now) for i in range(3000)
    )
    types = ActivityType.values
    Activity.objects.bulk_create(
        Activity(lead=lead, type=types[(i + k) % len(types)], occurred_at=now - timedelta(days=k * 11))
        for i, lead in enumerate(leads)
        for k in range(4)
    )
    analyze(models=[Lead, Activity])
    sql, params = scoring_sql.changed_scores_statement(compile_model(active_scoring_model()), by="range")
    params.update(now=now, lo=leads[0].pk, hi=leads[0].pk + 999)
    with connection.cursor() as cursor:
        # TRICKY: a test's fresh rows are not all-visible yet, so the planner may prefer a bitmap scan of the
        # table here. Without that choice, an index path on a covering index is an index-only one: the
        # assertion is that the index holds every column the statement reads of an activity.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Only Scan using {INDEX} on leads_activity" in plan


@needs_postgres
def test_an_activity_type_maps_to_its_rule_by_position_and_back():
    rules = compile_model(active_scoring_model()).engagement_in_order
    assert [rule.order for rule in rules] == sorted(rule.order for rule in rules)
    types = [rule.activity_type for rule in rules]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t, array_position(%s::text[], t) FROM unnest(%s::text[]) AS t", [types, [*types, "other"]]
        )
        positions = dict(cursor.fetchall())
    assert {t: rules[p - 1].activity_type for t, p in positions.items() if p is not None} == {
        t: t for t in types
    }
    assert positions["other"] is None


def _estimated_rows(model: type) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


@needs_postgres
def test_a_full_rescore_first_analyzes_tables_whose_statistics_lag_behind_its_own_writes():
    from scoring.rescore import rescore_all

    analyze(models=[Lead, Activity])  # statistics of the empty tables
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        Lead(email=f"stale-{i}@example.com", created_at=now, updated_at=now) for i in range(400)
    )
    Activity.objects.bulk_create(Activity(lead=lead, type="email_open", occurred_at=now) for lead in leads)
    assert _estimated_rows(Lead) <= 0  # the planner still believes the leads table empty

    run = rescore_all(reason="test", now=now)

    assert run.done == 400
    assert _estimated_rows(Lead) == 400
    assert _estimated_rows(Activity) == 400
