"""The joint KPIs: one registry that drives the API and the pages, and their set-based computation.

``compute_snapshots(period=...)`` computes every KPI for every scope of one period in a fixed number of SQL
statements (no query per lead, rep or campaign) and upserts ``KpiSnapshot`` rows on (metric, period, scope),
so a rerun or a duplicate task changes nothing but ``computed_at``.

Definitions (../shared/API.md "Goals and KPIs"), with the details the contract leaves open:

* Counts are distinct leads. "Entering a stage" is a ``Transition`` into a stage of that *kind* at a time
  inside the period; stages are always matched by kind, never by slug, so stages that managers add count.
* The period's MQLs are the leads with a transition into an MQL-kind stage in the period. Rates over them
  look at what happened to each lead from its first MQL entry in the period up to now: *accepted* is a move
  out of an MQL-kind stage into a SAL, SQL, opportunity or won stage; *rejected* is a move that carries a
  reject reason; *reached SQL* is entering an SQL, opportunity or won stage. A lead rejected and later
  accepted counts in both shares.
* ``win_rate`` is won ÷ (won + lost), both being leads entering those kinds in the period.
* ``sla_compliance`` is over hand-offs whose deadline falls in the period: answered (accepted or rejected)
  by the deadline counts as met. A hand-off still open past its deadline, or reassigned/withdrawn after it,
  is a miss. A hand-off reassigned or withdrawn before its deadline is left out (the rep never had the full
  clock; the new hand-off carries its own), and so is one still open whose deadline has not come yet.
  Everything is judged as of ``now``: a hand-off closed later counts as open, a later move does not exist.
* ``median_hours_to_accept``: hand-offs accepted in the period, from assignment to acceptance.
* ``median_days_mql_to_won``: leads won in the period, from the MQL entry that preceded the win.
* Amounts: per lead, the amount given on its latest entry into the stage in the period (a deal that goes
  back and forth is not counted twice).
* ``cost_per_mql``/``cost_per_sql``: campaign cost for the months of the period ÷ ``mqls``/``sqls`` of the
  scope; all campaigns for ``all``, the campaign's own cost for ``campaign:<slug>``. Cost has no meaning
  per persona or rep, so those scopes get ``null``.
* ``funnel_depth_credit``: per marketing-sourced lead (``source`` is not ``outbound``), points for the
  deepest stage kind it entered in the period (MQL 1, SAL 2, SQL 3, opportunity 5, won 10), summed.
* ``reject_reasons``: leads rejected in the period, by reason slug.
* Scopes: ``all``, ``campaign:<slug>``, ``persona:<slug>`` (the lead's), ``rep:<id>`` — the lead's owner,
  or when it has none the rep of its latest hand-off; hand-off KPIs use the hand-off's rep.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from alignment.models import KpiSnapshot
from alignment.periods import Period, parse_period
from core.roles import SALES
from leads.models import Campaign, Persona

Measures = Mapping[str, Any]


def share(part: Any, whole: Any) -> float | None:
    """A fraction from 0 to 1, or ``None`` when there is nothing to divide by."""
    if part is None or not whole:
        return None
    return round(float(part) / float(whole), 4)


def _amount(value: Any) -> float:
    return round(float(value or 0), 2)


def _per(cost: Any, count: Any) -> float | None:
    if cost is None or not count:
        return None
    return round(float(cost) / float(count), 2)


def _median(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    unit: str  # leads, share, hours, days, amount, points, leads by reason
    description: str
    higher_is_better: bool
    # Cumulative KPIs grow through the period (counts, amounts), so a goal on them is paced linearly; the
    # others (rates, medians, costs per lead) are levels, expected to meet the target all period long.
    cumulative: bool
    compute: Callable[[Measures], Any]
    drivers: tuple[str, ...] = ()


def _count(name: str) -> Callable[[Measures], int]:
    return lambda m: int(m.get(name) or 0)


REGISTRY: tuple[Kpi, ...] = (
    Kpi("new_leads", "New leads", "leads", "Leads created in the period.", True, True, _count("new_leads")),
    Kpi(
        "mqls",
        "MQLs",
        "leads",
        "Leads entering an MQL stage in the period.",
        True,
        True,
        _count("mqls"),
        ("new_leads", "acceptance_rate"),
    ),
    Kpi(
        "sals",
        "SALs",
        "leads",
        "Leads entering a sales-accepted stage in the period.",
        True,
        True,
        _count("sals"),
        ("mqls", "acceptance_rate"),
    ),
    Kpi(
        "sqls",
        "SQLs",
        "leads",
        "Leads entering an SQL stage in the period.",
        True,
        True,
        _count("sqls"),
        ("mqls", "acceptance_rate", "mql_to_sql_rate"),
    ),
    Kpi(
        "opportunities",
        "Opportunities",
        "leads",
        "Leads entering an opportunity stage in the period.",
        True,
        True,
        _count("opportunities"),
        ("sqls", "pipeline_amount"),
    ),
    Kpi(
        "won",
        "Won",
        "leads",
        "Leads entering a won stage in the period.",
        True,
        True,
        _count("won"),
        ("opportunities", "win_rate"),
    ),
    Kpi(
        "lost",
        "Lost",
        "leads",
        "Leads entering a lost stage in the period.",
        False,
        True,
        _count("lost"),
        ("opportunities", "win_rate"),
    ),
    Kpi(
        "acceptance_rate",
        "Acceptance rate",
        "share",
        "Of the period's MQLs, the share sales accepted (up to now).",
        True,
        False,
        lambda m: share(m.get("accepted"), m.get("mqls")),
        ("mqls", "rejection_rate", "sla_compliance"),
    ),
    Kpi(
        "rejection_rate",
        "Rejection rate",
        "share",
        "Of the period's MQLs, the share sales rejected with a reason (up to now).",
        False,
        False,
        lambda m: share(m.get("rejected"), m.get("mqls")),
        ("mqls", "acceptance_rate", "reject_reasons"),
    ),
    Kpi(
        "mql_to_sql_rate",
        "MQL → SQL rate",
        "share",
        "Of the period's MQLs, the share that reached SQL or beyond (up to now).",
        True,
        False,
        lambda m: share(m.get("reached_sql"), m.get("mqls")),
        ("mqls", "acceptance_rate", "sqls"),
    ),
    Kpi(
        "win_rate",
        "Win rate",
        "share",
        "Won ÷ (won + lost) among deals closed in the period.",
        True,
        False,
        lambda m: share(m.get("won"), (m.get("won") or 0) + (m.get("lost") or 0)),
        ("won", "lost"),
    ),
    Kpi(
        "sla_compliance",
        "SLA compliance",
        "share",
        "Of hand-offs due in the period, the share accepted or rejected by the deadline.",
        True,
        False,
        lambda m: share(m.get("handoffs_met"), m.get("handoffs_due")),
        ("median_hours_to_accept", "mqls"),
    ),
    Kpi(
        "median_hours_to_accept",
        "Median hours to accept",
        "hours",
        "Median time from hand-off to acceptance, over hand-offs accepted in the period.",
        False,
        False,
        lambda m: _median(m.get("median_hours_to_accept")),
        ("sla_compliance", "sals"),
    ),
    Kpi(
        "median_days_mql_to_won",
        "Median days MQL → won",
        "days",
        "Median time from MQL to won, over leads won in the period.",
        False,
        False,
        lambda m: _median(m.get("median_days_mql_to_won")),
        ("won", "win_rate"),
    ),
    Kpi(
        "pipeline_amount",
        "Pipeline created",
        "amount",
        "Amounts given when leads entered an opportunity stage in the period.",
        True,
        True,
        lambda m: _amount(m.get("pipeline_amount")),
        ("opportunities",),
    ),
    Kpi(
        "won_amount",
        "Won amount",
        "amount",
        "Amounts given when leads entered a won stage in the period.",
        True,
        True,
        lambda m: _amount(m.get("won_amount")),
        ("won", "win_rate", "pipeline_amount"),
    ),
    Kpi(
        "marketing_sourced_won_amount",
        "Marketing-sourced won amount",
        "amount",
        "Won amount of leads whose source is not outbound.",
        True,
        True,
        lambda m: _amount(m.get("marketing_won_amount")),
        ("won_amount", "won", "mqls"),
    ),
    Kpi(
        "cost_per_mql",
        "Cost per MQL",
        "amount",
        "Campaign cost in the period ÷ MQLs.",
        False,
        False,
        lambda m: _per(m.get("cost"), m.get("mqls")),
        ("mqls",),
    ),
    Kpi(
        "cost_per_sql",
        "Cost per SQL",
        "amount",
        "Campaign cost in the period ÷ SQLs.",
        False,
        False,
        lambda m: _per(m.get("cost"), m.get("sqls")),
        ("sqls", "mql_to_sql_rate"),
    ),
    Kpi(
        "funnel_depth_credit",
        "Funnel-depth credit",
        "points",
        "Marketing's credit: per marketing-sourced lead, points for the deepest stage reached in the period "
        "(MQL 1, SAL 2, SQL 3, opportunity 5, won 10).",
        True,
        True,
        lambda m: int(m.get("depth_credit") or 0),
        ("mqls", "sals", "sqls", "opportunities", "won"),
    ),
    Kpi(
        "reject_reasons",
        "Reject reasons",
        "leads by reason",
        "Leads rejected in the period, by reason.",
        False,
        True,
        lambda m: dict(sorted((m.get("reject_reasons") or {}).items())),
    ),
)
KPIS: dict[str, Kpi] = {kpi.key: kpi for kpi in REGISTRY}
NUMERIC_KEYS = [kpi.key for kpi in REGISTRY if kpi.key != "reject_reasons"]


# --- Scopes ---------------------------------------------------------------------------------------------
_SCOPE = re.compile(r"^(all|campaign:[-a-zA-Z0-9_]{1,60}|persona:[-a-zA-Z0-9_]{1,60}|rep:[0-9]{1,18})$")


class InvalidScope(ValueError):
    pass


def parse_scope(value: object) -> str:
    """Check the form and that the campaign, persona or rep exists; raise ``InvalidScope`` otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    if not _SCOPE.match(text):
        raise InvalidScope("Must be all, campaign:<slug>, persona:<slug> or rep:<id>.")
    kind, _, key = text.partition(":")
    exists = {
        "all": lambda: True,
        "campaign": lambda: Campaign.objects.filter(slug=key).exists(),
        "persona": lambda: Persona.objects.filter(slug=key).exists(),
        "rep": lambda: get_user_model().objects.filter(pk=int(key)).exists(),
    }[kind]()
    if not exists:
        raise InvalidScope(f"No {kind} {key!r}.")
    return text


# --- Computation ----------------------------------------------------------------------------------------
# The same expansion of rows into scopes serves every aggregate: a row belongs to "all", to its campaign,
# its persona and its rep. UNION ALL (rather than GROUPING SETS) keeps the SQL portable to SQLite.
def _scoped(table: str) -> str:
    return f"""
        SELECT 'all' AS scope, x.* FROM {table} x
        UNION ALL SELECT 'campaign:' || c.slug, x.* FROM {table} x
            JOIN leads_campaign c ON c.id = x.campaign_id
        UNION ALL SELECT 'persona:' || p.slug, x.* FROM {table} x JOIN leads_persona p ON p.id = x.persona_id
        UNION ALL SELECT 'rep:' || CAST(x.rep_id AS TEXT), x.* FROM {table} x WHERE x.rep_id IS NOT NULL
    """


def _hours_between(start: str, end: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"
    return f"((julianday({end}) - julianday({start})) * 24.0)"


DEPTH_POINTS = {"mql": 1, "sal": 2, "sql": 3, "opportunity": 5, "won": 10}
_ENTRY_KINDS = {"mqls": "mql", "sals": "sal", "sqls": "sql", "opportunities": "opportunity", "won": "won",
                "lost": "lost"}  # fmt: skip


def _facts_sql() -> str:
    entries = ",\n".join(
        f"MAX(CASE WHEN kind = '{kind}' THEN 1 ELSE 0 END) AS {name}" for name, kind in _ENTRY_KINDS.items()
    )
    depth = " ".join(f"WHEN '{kind}' THEN {points}" for kind, points in DEPTH_POINTS.items())
    carried = ", ".join(f"COALESCE(p.{name}, 0) AS {name}" for name in _ENTRY_KINDS)
    return f"""
    CREATE TEMPORARY TABLE kpi_facts AS
    WITH moves AS (
        SELECT t.lead_id, s.kind, t.at, t.amount,
               ROW_NUMBER() OVER (PARTITION BY t.lead_id, s.kind ORDER BY t.at DESC, t.id DESC) AS latest
        FROM funnel_transition t JOIN funnel_stage s ON s.id = t.to_stage_id
        WHERE t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s
    ),
    per_lead AS (
        SELECT lead_id, {entries},
            MIN(CASE WHEN kind = 'mql' THEN at END) AS first_mql_at,
            MAX(CASE WHEN kind = 'won' THEN at END) AS won_at,
            MAX(CASE kind {depth} ELSE 0 END) AS depth,
            SUM(CASE WHEN kind = 'opportunity' AND latest = 1 THEN amount END) AS opp_amount,
            SUM(CASE WHEN kind = 'won' AND latest = 1 THEN amount END) AS won_amount
        FROM moves GROUP BY lead_id
    ),
    outcomes AS (
        SELECT p.lead_id,
            MAX(CASE WHEN fs.kind = 'mql' AND ts.kind IN ('sal', 'sql', 'opportunity', 'won')
                THEN 1 ELSE 0 END) AS accepted,
            MAX(CASE WHEN t.reject_reason_id IS NOT NULL THEN 1 ELSE 0 END) AS rejected,
            MAX(CASE WHEN ts.kind IN ('sql', 'opportunity', 'won') THEN 1 ELSE 0 END) AS reached_sql
        FROM per_lead p
        JOIN funnel_transition t ON t.lead_id = p.lead_id AND t.at >= p.first_mql_at AND t.at <= %(now)s
        JOIN funnel_stage ts ON ts.id = t.to_stage_id
        LEFT JOIN funnel_stage fs ON fs.id = t.from_stage_id
        WHERE p.first_mql_at IS NOT NULL
        GROUP BY p.lead_id
    ),
    won_cycle AS (
        SELECT p.lead_id, p.won_at, MAX(t.at) AS mql_at
        FROM per_lead p
        JOIN funnel_transition t ON t.lead_id = p.lead_id AND t.at <= p.won_at
        JOIN funnel_stage s ON s.id = t.to_stage_id AND s.kind = 'mql'
        WHERE p.won_at IS NOT NULL
        GROUP BY p.lead_id, p.won_at
    ),
    involved AS (
        SELECT id AS lead_id FROM leads_lead
        WHERE created_at >= %(start)s AND created_at < %(end)s AND created_at <= %(now)s
        UNION
        SELECT lead_id FROM per_lead
    ),
    last_handoff AS (
        SELECT h.lead_id, h.rep_id,
               ROW_NUMBER() OVER (PARTITION BY h.lead_id ORDER BY h.assigned_at DESC, h.id DESC) AS latest
        FROM funnel_handoff h WHERE h.lead_id IN (SELECT lead_id FROM involved)
    )
    SELECT i.lead_id, l.campaign_id, l.persona_id,
        CASE WHEN l.source = 'outbound' THEN 0 ELSE 1 END AS marketing,
        COALESCE(l.owner_id, lh.rep_id) AS rep_id,
        CASE WHEN l.created_at >= %(start)s AND l.created_at < %(end)s THEN 1 ELSE 0 END AS new_leads,
        {carried},
        COALESCE(o.accepted, 0) AS accepted, COALESCE(o.rejected, 0) AS rejected,
        COALESCE(o.reached_sql, 0) AS reached_sql,
        COALESCE(p.depth, 0) AS depth, p.opp_amount, p.won_amount,
        {_hours_between("w.mql_at", "w.won_at")} / 24.0 AS days_to_won
    FROM involved i
    JOIN leads_lead l ON l.id = i.lead_id
    LEFT JOIN per_lead p ON p.lead_id = i.lead_id
    LEFT JOIN outcomes o ON o.lead_id = i.lead_id
    LEFT JOIN won_cycle w ON w.lead_id = i.lead_id
    LEFT JOIN last_handoff lh ON lh.lead_id = i.lead_id AND lh.latest = 1
    """


def _handoffs_sql() -> str:
    in_period = "h.sla_due_at >= %(start)s AND h.sla_due_at < %(end)s"
    return f"""
    CREATE TEMPORARY TABLE kpi_handoffs AS
    SELECT h.rep_id, l.campaign_id, l.persona_id,
        CASE WHEN NOT ({in_period}) THEN 0
             WHEN h.status IN ('accepted', 'rejected') AND h.closed_at <= %(now)s THEN 1
             WHEN h.sla_due_at > %(now)s THEN 0
             WHEN h.status = 'open' OR h.closed_at > %(now)s THEN 1
             WHEN h.status IN ('reassigned', 'withdrawn') AND h.closed_at > h.sla_due_at THEN 1
             ELSE 0 END AS due,
        CASE WHEN {in_period} AND h.status IN ('accepted', 'rejected') AND h.closed_at <= h.sla_due_at
                  AND h.closed_at <= %(now)s
             THEN 1 ELSE 0 END AS met,
        CASE WHEN h.status = 'accepted' AND h.closed_at >= %(start)s AND h.closed_at < %(end)s
                  AND h.closed_at <= %(now)s
             THEN {_hours_between("h.assigned_at", "h.closed_at")} END AS hours_to_accept
    FROM funnel_handoff h JOIN leads_lead l ON l.id = h.lead_id
    WHERE ({in_period})
       OR (h.status = 'accepted' AND h.closed_at >= %(start)s AND h.closed_at < %(end)s)
    """


_LEAD_MEASURES_SQL = f"""
    WITH scoped AS ({_scoped("kpi_facts")})
    SELECT scope, SUM(new_leads), SUM(mqls), SUM(sals), SUM(sqls), SUM(opportunities), SUM(won), SUM(lost),
        SUM(mqls * accepted), SUM(mqls * rejected), SUM(mqls * reached_sql),
        SUM(opp_amount), SUM(won_amount), SUM(marketing * won_amount), SUM(marketing * depth)
    FROM scoped GROUP BY scope
"""
_LEAD_MEASURE_NAMES = [
    "new_leads", "mqls", "sals", "sqls", "opportunities", "won", "lost", "accepted", "rejected",
    "reached_sql", "pipeline_amount", "won_amount", "marketing_won_amount", "depth_credit",
]  # fmt: skip

_HANDOFF_MEASURES_SQL = f"""
    WITH scoped AS ({_scoped("kpi_handoffs")})
    SELECT scope, SUM(due), SUM(met) FROM scoped GROUP BY scope
"""

# TRICKY: a portable median. Rows are ranked per (measure, scope); the middle row, or the two middle rows
# averaged, is the median (percentile_cont(0.5) on PostgreSQL gives the same; SQLite has none).
_MEDIANS_SQL = f"""
    WITH scoped_f AS ({_scoped("kpi_facts")}),
    scoped_h AS ({_scoped("kpi_handoffs")}),
    vals AS (
        SELECT 'median_days_mql_to_won' AS measure, scope, days_to_won AS v FROM scoped_f
        WHERE days_to_won IS NOT NULL
        UNION ALL
        SELECT 'median_hours_to_accept', scope, hours_to_accept FROM scoped_h
        WHERE hours_to_accept IS NOT NULL
    ),
    ranked AS (
        SELECT measure, scope, v,
            ROW_NUMBER() OVER (PARTITION BY measure, scope ORDER BY v) AS rn,
            COUNT(*) OVER (PARTITION BY measure, scope) AS n
        FROM vals
    )
    SELECT measure, scope, AVG(v) FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY measure, scope
"""

_REASONS_SQL = f"""
    WITH reasons AS (
        SELECT DISTINCT t.lead_id, r.slug AS reason
        FROM funnel_transition t JOIN funnel_rejectreason r ON r.id = t.reject_reason_id
        WHERE t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s AND t.reject_reason_id IS NOT NULL
    ),
    rejected AS (
        SELECT f.campaign_id, f.persona_id, f.rep_id, reasons.reason
        FROM reasons JOIN kpi_facts f ON f.lead_id = reasons.lead_id
    ),
    scoped AS ({_scoped("rejected")})
    SELECT scope, reason, COUNT(*) FROM scoped GROUP BY scope, reason
"""

_COSTS_SQL = """
    SELECT c.slug, SUM(cc.amount) FROM leads_campaigncost cc JOIN leads_campaign c ON c.id = cc.campaign_id
    WHERE cc.month >= %(first_day)s AND cc.month < %(end_day)s GROUP BY c.slug
"""


def _rows(cursor: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _scope_universe(period: Period) -> set[str]:
    """Every scope that gets a row: all, every campaign, persona and sales rep, and any scope written before
    for this period (so a scope that lost its leads is zeroed rather than left stale)."""
    scopes = {"all"}
    scopes.update(f"campaign:{slug}" for slug in Campaign.objects.values_list("slug", flat=True))
    scopes.update(f"persona:{slug}" for slug in Persona.objects.values_list("slug", flat=True))
    reps = get_user_model().objects.filter(groups__name=SALES).values_list("pk", flat=True)
    scopes.update(f"rep:{pk}" for pk in reps)
    scopes.update(KpiSnapshot.objects.filter(period=period.key).values_list("scope", flat=True).distinct())
    return scopes


def measure_period(*, period: Period, now: datetime) -> dict[str, dict[str, Any]]:
    """The raw measures of every scope for ``period``, as of ``now``: ``{scope: {measure: value}}``.

    Call inside a transaction: it creates and drops two temporary tables on the connection.
    """
    ops = connection.ops
    params = {
        "start": ops.adapt_datetimefield_value(period.start),
        "end": ops.adapt_datetimefield_value(period.end),
        "now": ops.adapt_datetimefield_value(now),
        "first_day": ops.adapt_datefield_value(period.first_day),
        "end_day": ops.adapt_datefield_value(period.end_day),
    }
    measures: dict[str, dict[str, Any]] = {scope: {} for scope in _scope_universe(period)}

    def scope_measures(scope: str) -> dict[str, Any]:
        return measures.setdefault(scope, {})

    with connection.cursor() as cursor:
        for table in ("kpi_facts", "kpi_handoffs"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(_facts_sql(), params)
        cursor.execute(_handoffs_sql(), params)
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE kpi_facts")
            cursor.execute("ANALYZE kpi_handoffs")
        for scope, *values in _rows(cursor, _LEAD_MEASURES_SQL, params):
            scope_measures(scope).update(zip(_LEAD_MEASURE_NAMES, map(_number, values), strict=True))
        for scope, due, met in _rows(cursor, _HANDOFF_MEASURES_SQL, params):
            scope_measures(scope).update(handoffs_due=due, handoffs_met=met)
        for name, scope, value in _rows(cursor, _MEDIANS_SQL, params):
            scope_measures(scope)[name] = _number(value)
        for scope, reason, count in _rows(cursor, _REASONS_SQL, params):
            scope_measures(scope).setdefault("reject_reasons", {})[reason] = count
        costs = dict(_rows(cursor, _COSTS_SQL, params))
        for table in ("kpi_facts", "kpi_handoffs"):
            cursor.execute(f"DROP TABLE {table}")

    for scope, values in measures.items():
        if scope == "all":
            values["cost"] = sum((_number(c) for c in costs.values()), 0.0)
        elif scope.startswith("campaign:"):
            values["cost"] = _number(costs.get(scope.removeprefix("campaign:"), 0))
        else:
            values["cost"] = None
    return measures


def compute_snapshots(*, period: Period | str, now: datetime | None = None) -> int:
    """Compute every KPI for every scope of ``period`` and upsert the snapshots; returns the rows written."""
    if isinstance(period, str):
        period = parse_period(period)
    now = now or timezone.now()
    with transaction.atomic():
        measures = measure_period(period=period, now=now)
        rows = [
            KpiSnapshot(
                metric=kpi.key, period=period.key, scope=scope, value=kpi.compute(values), computed_at=now
            )
            for scope, values in sorted(measures.items())
            for kpi in REGISTRY
        ]
        # Sorted rows take row locks in the same order, so two concurrent refreshes queue, never deadlock.
        rows.sort(key=lambda row: (row.metric, row.scope))
        KpiSnapshot.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["metric", "period", "scope"],
            update_fields=["value", "computed_at"],
        )
    return len(rows)


def empty_metrics() -> dict[str, Any]:
    return {kpi.key: None for kpi in REGISTRY}


@dataclass(frozen=True)
class Snapshot:
    period: str
    scope: str
    computed_at: datetime | None
    metrics: dict[str, Any]


def read_snapshot(*, period: Period, scope: str) -> Snapshot:
    """The stored KPIs of one period and scope (one query); KPIs never computed are ``None``."""
    metrics = empty_metrics()
    computed_at = None
    for metric, value, at in KpiSnapshot.objects.filter(
        period=period.key, scope=scope, metric__in=list(KPIS)
    ).values_list("metric", "value", "computed_at"):
        metrics[metric] = value
        computed_at = at if computed_at is None else max(computed_at, at)
    return Snapshot(period=period.key, scope=scope, computed_at=computed_at, metrics=metrics)
