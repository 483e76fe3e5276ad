"""How many leads the lead list's filters match: exact up to a bound, else PostgreSQL's estimate.

Counting a large result exactly reads every matching row; above ``EXACT_LIMIT`` the page says "about" and
takes the planner's row estimate instead (``EXPLAIN``: no row is read). SQLite has no such estimate, so
there the page says "more than" the bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from leads.models import Lead

EXACT_LIMIT = 10_000


@dataclass(frozen=True)
class LeadCount:
    value: int
    exact: bool
    # False when the database gave no estimate: ``value`` is then only a lower bound.
    estimated: bool = False


def count_leads(queryset: QuerySet[Lead]) -> LeadCount:
    """Two queries at most, whatever the number of leads: a count stopped after ``EXACT_LIMIT + 1`` rows,
    and above it the planner's estimate."""
    # Django counts a sliced queryset as COUNT(*) over a subquery with LIMIT: it stops at the bound.
    bounded = queryset.order_by()[: EXACT_LIMIT + 1].count()
    if bounded <= EXACT_LIMIT:
        return LeadCount(value=bounded, exact=True)
    estimate = planner_estimate(queryset)
    if estimate is None:
        return LeadCount(value=EXACT_LIMIT, exact=False)
    # An estimate below what was just counted is wrong: never show fewer than that.
    return LeadCount(value=max(estimate, EXACT_LIMIT + 1), exact=False, estimated=True)


def planner_estimate(queryset: QuerySet[Lead]) -> int | None:
    """PostgreSQL's estimate of the rows ``queryset`` returns, or None on other databases."""
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns json as text when no json loader is registered
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
