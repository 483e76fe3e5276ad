"""How many leads the lead list's filters match: exact up to a bound, else PostgreSQL's estimate.

Counting a large result exactly reads every matching row; above ``EXACT_LIMIT`` the page says "about" and
takes the planner's row estimate instead (``EXPLAIN``: no row is read), and so it does when the count takes
longer than ``COUNT_BUDGET_MS``. SQLite has no such estimate, so there the page says "more than" the bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet

from core.keyset import KeysetPage
from leads.models import Lead

EXACT_LIMIT = 10_000
COUNT_BUDGET_MS = 40
CHECK_BUDGET_MS = 15
# The list's estimates are off by a factor of two or three at worst (the search reads the statistics of its
# trigram index's expression): an estimate this many times the bound is not worth a count.
UNCOUNTED_FACTOR = 5
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


@dataclass(frozen=True)
class LeadCount:
    value: int
    exact: bool
    # False when the database gave no estimate: ``value`` is then only a lower bound.
    estimated: bool = False


def count_listed(queryset: QuerySet[Lead], page: KeysetPage[Any]) -> LeadCount:
    """The total behind a page of the lead list: a page that holds every match counts itself (no query)."""
    if not page.has_other_pages:
        return LeadCount(value=len(page.rows), exact=True)
    return count_leads(queryset)


def count_leads(queryset: QuerySet[Lead]) -> LeadCount:
    """The planner's estimate, then a count stopped after ``EXACT_LIMIT + 1`` rows, whatever the number of
    leads; above the bound the page says "about" the estimate.

    On PostgreSQL the count has a time budget: a common search term combined with other filters can take a
    few hundred milliseconds to count even that far, and the page would wait for it; past the budget the
    page says "about" the estimate instead. The count matters only when it ends within the bound, so when
    the planner expects more than the bound it gets ``CHECK_BUDGET_MS`` (it mostly confirms the estimate),
    and when it expects ``UNCOUNTED_FACTOR`` times more, none."""
    estimate = planner_estimate(queryset)
    budget = COUNT_BUDGET_MS
    if estimate is not None and estimate > EXACT_LIMIT:
        if estimate > UNCOUNTED_FACTOR * EXACT_LIMIT:
            return LeadCount(value=estimate, exact=False, estimated=True)
        budget = CHECK_BUDGET_MS
    # Django counts a sliced queryset as COUNT(*) over a subquery with LIMIT: it stops at the bound.
    bounded = _count_within_budget(queryset.order_by()[: EXACT_LIMIT + 1], budget_ms=budget)
    if bounded is None:
        return LeadCount(value=estimate or 0, exact=False, estimated=estimate is not None)
    if bounded <= EXACT_LIMIT:
        return LeadCount(value=bounded, exact=True)
    if estimate is None:
        return LeadCount(value=EXACT_LIMIT, exact=False)
    # An estimate below what was just counted is wrong: never show fewer than that.
    return LeadCount(value=max(estimate, EXACT_LIMIT + 1), exact=False, estimated=True)


def _count_within_budget(queryset: QuerySet[Lead], *, budget_ms: int) -> int | None:
    """``queryset.count()``, or None when PostgreSQL cancelled it after ``budget_ms``."""
    if connection.vendor != "postgresql":
        return queryset.count()
    try:
        # In a savepoint (or a transaction of its own), always rolled back: that ends the timeout set for
        # the count (a local setting), and a cancelled count spoils nothing of the request's transaction.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{budget_ms}ms"])
            count = queryset.count()
            transaction.set_rollback(True)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != QUERY_CANCELED:
            raise
        return None
    return count


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
