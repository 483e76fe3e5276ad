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
* ``median_hours_to_accept``: from assignment to acceptance, over the same hand-offs as ``sla_compliance``
  (due in the period) that were accepted, so the sales side of the scoreboard speaks of one population.
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

import json
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
from leads.models import Campaign, Persona, Stage

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
        "Median time from hand-off to acceptance, over the hand-offs due in the period that were accepted.",
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
# its persona and its rep. PostgreSQL groups the rows four ways in one read (GROUPING SETS, ``_grouped``);
# SQLite has no grouping sets and expands the rows with UNION ALL (``_scoped``) before grouping once.
ALL, CAMPAIGN, PERSONA, REP = 0, 1, 2, 3


def _scoped(table: str, columns: str = "x.*") -> str:
    """Rows of ``table`` (a table or a parenthesised subquery) once per scope they belong to.

    A scope is (``skind``, ``sid``): integers, turned into ``campaign:<slug>``… only after aggregating, so
    sorting and grouping never compare text under the database's collation.
    """
    return f"""
        SELECT {ALL} AS skind, 0 AS sid, {columns} FROM {table} x
        UNION ALL SELECT {CAMPAIGN}, x.campaign_id, {columns} FROM {table} x WHERE x.campaign_id IS NOT NULL
        UNION ALL SELECT {PERSONA}, x.persona_id, {columns} FROM {table} x WHERE x.persona_id IS NOT NULL
        UNION ALL SELECT {REP}, x.rep_id, {columns} FROM {table} x WHERE x.rep_id IS NOT NULL
    """


def _grouped(table: str, aggregates: str, extra: str = "") -> str:
    """``aggregates`` over ``table``'s rows per scope (``skind``, ``sid``), and per ``extra`` when given.

    PostgreSQL reads the rows once and groups them four ways with GROUPING SETS; SQLite expands them with
    ``_scoped`` and groups once. A row with no campaign, persona or rep belongs to no such scope, so the
    NULL group of each of those sets is dropped. ``GROUPING(c, p, r)`` tells the sets apart: 7 is ``all``,
    3 groups by campaign, 5 by persona, 6 by rep.
    """
    by = f", {extra}" if extra else ""
    if connection.vendor == "postgresql":
        return f"""
            SELECT CASE GROUPING(x.campaign_id, x.persona_id, x.rep_id)
                        WHEN 3 THEN {CAMPAIGN} WHEN 5 THEN {PERSONA} WHEN 6 THEN {REP} ELSE {ALL}
                   END AS skind,
                   COALESCE(x.campaign_id, x.persona_id, x.rep_id, 0) AS sid{by}, {aggregates}
            FROM {table} x
            GROUP BY GROUPING SETS (({extra}), (x.campaign_id{by}), (x.persona_id{by}), (x.rep_id{by}))
            HAVING GROUPING(x.campaign_id, x.persona_id, x.rep_id) = 7
                OR (GROUPING(x.campaign_id, x.persona_id, x.rep_id) = 3 AND x.campaign_id IS NOT NULL)
                OR (GROUPING(x.campaign_id, x.persona_id, x.rep_id) = 5 AND x.persona_id IS NOT NULL)
                OR (GROUPING(x.campaign_id, x.persona_id, x.rep_id) = 6 AND x.rep_id IS NOT NULL)
        """
    return f"SELECT skind, sid{by}, {aggregates} FROM ({_scoped(table)}) x GROUP BY skind, sid{by}"


def _hours_between(start: str, end: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"
    return f"((julianday({end}) - julianday({start})) * 24.0)"


DEPTH_POINTS = {"mql": 1, "sal": 2, "sql": 3, "opportunity": 5, "won": 10}
_ENTRY_KINDS = {"mqls": "mql", "sals": "sal", "sqls": "sql", "opportunities": "opportunity", "won": "won",
                "lost": "lost"}  # fmt: skip


StageIds = dict[str, list[int]]


def _in(stages: StageIds, *kinds: str) -> str:
    """An SQL list of the ids of the stages of ``kinds`` (integers read from the database)."""
    ids = sorted(int(pk) for kind in kinds for pk in stages.get(kind, []))
    return "(" + ", ".join(map(str, ids or [-1])) + ")"


def _kind_of(column: str, stages: StageIds) -> str:
    """The stage kind of a stage id column, as a CASE over the known ids (no join per row)."""
    whens = " ".join(f"WHEN {int(pk)} THEN '{kind}'" for kind, ids in stages.items() for pk in ids)
    return f"CASE {column} {whens} END" if whens else "NULL"


def _period_leads_sql(stages: StageIds) -> str:
    """Every lead the period touches (created in it, or moved in it) with what it did in the period.

    Driven by the indexes on transition and lead times, so its cost follows the period's data, not all data.
    """
    entries = ",\n".join(
        f"MAX(CASE WHEN kind = '{kind}' THEN 1 ELSE 0 END) AS {name}" for name, kind in _ENTRY_KINDS.items()
    )
    zeros = ", ".join(f"0 AS {name}" for name in _ENTRY_KINDS)
    depth = " ".join(f"WHEN '{kind}' THEN {points}" for kind, points in DEPTH_POINTS.items())
    return f"""
    CREATE TEMPORARY TABLE kpi_leads AS
    WITH moves AS (
        SELECT t.lead_id, {_kind_of("t.to_stage_id", stages)} AS kind, t.at
        FROM leads_transition t
        WHERE t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s
    ),
    per_lead AS (
        SELECT lead_id, {entries},
            MIN(CASE WHEN kind = 'mql' THEN at END) AS first_mql_at,
            MAX(CASE WHEN kind = 'won' THEN at END) AS won_at,
            MAX(CASE kind {depth} ELSE 0 END) AS depth
        FROM moves GROUP BY lead_id
    )
    SELECT * FROM per_lead
    UNION ALL
    SELECT l.id, {zeros}, NULL, NULL, 0
    FROM leads_lead l
    WHERE l.created_at >= %(start)s AND l.created_at < %(end)s AND l.created_at <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM per_lead p WHERE p.lead_id = l.id)
    """


def _since_mql(stages: StageIds) -> str:
    """What happened to a lead between its first MQL entry in the period and now, as bits: 1 accepted (out
    of MQL into SAL or deeper), 2 rejected (a move with a reject reason), 4 reached SQL or deeper.

    One probe of the (lead, time) index per lead answers all three (rather than one probe per question).
    """
    deeper = _in(stages, "sal", "sql", "opportunity", "won")
    return f"""(
        SELECT MAX(CASE WHEN t.from_stage_id IN {_in(stages, "mql")} AND t.to_stage_id IN {deeper}
                        THEN 1 ELSE 0 END)
             + 2 * MAX(CASE WHEN t.reject_reason_id IS NOT NULL THEN 1 ELSE 0 END)
             + 4 * MAX(CASE WHEN t.to_stage_id IN {_in(stages, "sql", "opportunity", "won")}
                            THEN 1 ELSE 0 END)
        FROM leads_transition t
        WHERE t.lead_id = p.lead_id AND t.at >= p.first_mql_at AND t.at <= %(now)s
    )"""


def _latest_amount(stages: StageIds, kind: str) -> str:
    """The amount given on the lead's latest entry into a stage of ``kind`` in the period."""
    return f"""(
        SELECT t.amount FROM leads_transition t
        WHERE t.lead_id = p.lead_id AND t.to_stage_id IN {_in(stages, kind)}
          AND t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s
        ORDER BY t.at DESC, t.id DESC LIMIT 1
    )"""


def _facts_sql(stages: StageIds) -> str:
    """One row per lead of the period: its scopes, stage entries, what happened since its MQL entry.

    TRICKY: the per-lead lookups are correlated subqueries on purpose. They run only for the period's leads,
    each through the (lead, time) index; a join would let the planner scan every transition ever made.
    """
    carried = ", ".join(f"p.{name}" for name in _ENTRY_KINDS)
    mql_before_win = f"""(
        SELECT MAX(t.at) FROM leads_transition t
        WHERE t.lead_id = p.lead_id AND t.to_stage_id IN {_in(stages, "mql")} AND t.at <= p.won_at
    )"""
    latest_rep = """(
        SELECT h.rep_id FROM funnel_handoff h WHERE h.lead_id = p.lead_id
        ORDER BY h.assigned_at DESC, h.id DESC LIMIT 1
    )"""
    return f"""
    CREATE TEMPORARY TABLE kpi_facts AS
    SELECT p.lead_id, l.campaign_id, l.persona_id,
        CASE WHEN l.source = 'outbound' THEN 0 ELSE 1 END AS marketing,
        COALESCE(l.owner_id, {latest_rep}) AS rep_id,
        CASE WHEN l.created_at >= %(start)s AND l.created_at < %(end)s THEN 1 ELSE 0 END AS new_leads,
        {carried},
        CASE WHEN p.first_mql_at IS NOT NULL THEN {_since_mql(stages)} ELSE 0 END AS outcome,
        p.depth,
        CASE WHEN p.opportunities = 1 THEN {_latest_amount(stages, "opportunity")} END AS opp_amount,
        CASE WHEN p.won = 1 THEN {_latest_amount(stages, "won")} END AS won_amount,
        CASE WHEN p.won_at IS NOT NULL THEN {_hours_between(mql_before_win, "p.won_at")} / 24.0 END
            AS days_to_won
    FROM kpi_leads p JOIN leads_lead l ON l.id = p.lead_id
    """


def _handoffs_sql() -> str:
    """The hand-offs due in the period (through the deadline index), judged as of now."""
    return """
    CREATE TEMPORARY TABLE kpi_handoffs AS
    SELECT h.rep_id, l.campaign_id, l.persona_id,
        CASE WHEN h.status IN ('accepted', 'rejected') AND h.closed_at <= %(now)s THEN 1
             WHEN h.sla_due_at > %(now)s THEN 0
             WHEN h.status = 'open' OR h.closed_at > %(now)s THEN 1
             WHEN h.status IN ('reassigned', 'withdrawn') AND h.closed_at > h.sla_due_at THEN 1
             ELSE 0 END AS due,
        CASE WHEN h.status IN ('accepted', 'rejected') AND h.closed_at <= h.sla_due_at
                  AND h.closed_at <= %(now)s
             THEN 1 ELSE 0 END AS met,
        CASE WHEN h.status = 'accepted' AND h.closed_at <= %(now)s
             THEN {hours} END AS hours_to_accept
    FROM funnel_handoff h JOIN leads_lead l ON l.id = h.lead_id
    WHERE h.sla_due_at >= %(start)s AND h.sla_due_at < %(end)s
    """.replace("{hours}", _hours_between("h.assigned_at", "h.closed_at"))


_LEAD_AGGREGATES = """SUM(new_leads), SUM(mqls), SUM(sals), SUM(sqls), SUM(opportunities), SUM(won),
    SUM(lost),
    SUM(mqls * (outcome %% 2)), SUM(mqls * ((outcome / 2) %% 2)), SUM(mqls * ((outcome / 4) %% 2)),
    SUM(opp_amount), SUM(won_amount), SUM(marketing * won_amount), SUM(marketing * depth)"""


def _lead_measures_sql() -> str:
    return _grouped("kpi_facts", _LEAD_AGGREGATES)


_LEAD_MEASURE_NAMES = [
    "new_leads", "mqls", "sals", "sqls", "opportunities", "won", "lost", "accepted", "rejected",
    "reached_sql", "pipeline_amount", "won_amount", "marketing_won_amount", "depth_credit",
]  # fmt: skip


def _handoff_measures_sql() -> str:
    return _grouped("kpi_handoffs", "SUM(due), SUM(met)")


_MEDIAN_MEASURES = ("median_days_mql_to_won", "median_hours_to_accept")

_DAYS = (
    "(SELECT 0 AS measure, campaign_id, persona_id, rep_id, days_to_won AS v FROM kpi_facts"
    " WHERE days_to_won IS NOT NULL)"
)
_HOURS = (
    "(SELECT 1 AS measure, campaign_id, persona_id, rep_id, hours_to_accept AS v FROM kpi_handoffs"
    " WHERE hours_to_accept IS NOT NULL)"
)
_MEDIAN_VALUES = f"""
    SELECT 0 AS measure, skind, sid, v FROM ({_scoped(_DAYS, "x.v")}) f
    UNION ALL
    SELECT 1, skind, sid, v FROM ({_scoped(_HOURS, "x.v")}) h
"""


def _medians_sql() -> str:
    """The median of each measure per scope: PostgreSQL's ordered-set aggregate where there is one.

    TRICKY: SQLite has no percentile_cont; there the rows are ranked per (measure, scope) and the middle
    row, or the two middle rows averaged, is the median, which is what percentile_cont(0.5) returns.
    """
    if connection.vendor == "postgresql":
        values = f"({_DAYS.strip('()')} UNION ALL {_HOURS.strip('()')})"
        median = _grouped(values, "percentile_cont(0.5) WITHIN GROUP (ORDER BY x.v)", extra="x.measure")
        return f"SELECT measure, skind, sid, m FROM ({median}) AS medians(skind, sid, measure, m)"
    return f"""
        WITH vals AS ({_MEDIAN_VALUES}),
        ranked AS (
            SELECT measure, skind, sid, v,
                ROW_NUMBER() OVER (PARTITION BY measure, skind, sid ORDER BY v) AS rn,
                COUNT(*) OVER (PARTITION BY measure, skind, sid) AS n
            FROM vals
        )
        SELECT measure, skind, sid, AVG(v) FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
        GROUP BY measure, skind, sid
    """


def _reasons_sql() -> str:
    """Leads rejected in the period per scope and reason.

    TRICKY: the reason's slug is joined only after the distinct (lead, reason id) pairs are found, so the
    period's transitions are read through the time index (joining first invites a walk of the reject
    reason index over every rejection ever made).
    """
    rejected = """(
        SELECT f.campaign_id, f.persona_id, f.rep_id, r.slug AS reason
        FROM (
            SELECT DISTINCT t.lead_id, t.reject_reason_id FROM leads_transition t
            WHERE t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s AND t.reject_reason_id IS NOT NULL
        ) rr
        JOIN leads_rejectreason r ON r.id = rr.reject_reason_id
        JOIN kpi_facts f ON f.lead_id = rr.lead_id
    )"""
    return _grouped(rejected, "COUNT(*)", extra="x.reason" if connection.vendor == "postgresql" else "reason")


_COSTS_SQL = """
    SELECT cc.campaign_id, SUM(cc.amount) FROM leads_campaigncost cc
    WHERE cc.month >= %(first_day)s AND cc.month < %(end_day)s GROUP BY cc.campaign_id
"""


def _rows(cursor: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


@dataclass
class ScopeNames:
    """Turns (skind, sid) into scope keys, and lists every scope that gets a row: all, every campaign,
    persona and sales rep, and any scope written before for the period (zeroed rather than left stale)."""

    campaigns: dict[int, str]
    personas: dict[int, str]
    universe: set[str]

    def name(self, skind: int, sid: int) -> str | None:
        if skind == ALL:
            return "all"
        if skind == CAMPAIGN:
            return f"campaign:{self.campaigns[sid]}" if sid in self.campaigns else None
        if skind == PERSONA:
            return f"persona:{self.personas[sid]}" if sid in self.personas else None
        return f"rep:{sid}"


def _scope_names(period: Period) -> ScopeNames:
    campaigns = dict(Campaign.objects.values_list("pk", "slug"))
    personas = dict(Persona.objects.values_list("pk", "slug"))
    universe = {"all"}
    universe.update(f"campaign:{slug}" for slug in campaigns.values())
    universe.update(f"persona:{slug}" for slug in personas.values())
    reps = get_user_model().objects.filter(groups__name=SALES).values_list("pk", flat=True)
    universe.update(f"rep:{pk}" for pk in reps)
    universe.update(KpiSnapshot.objects.filter(period=period.key).values_list("scope", flat=True).distinct())
    return ScopeNames(campaigns=campaigns, personas=personas, universe=universe)


# Settings for the current transaction only (``SET LOCAL``), several in one statement.
_SETTINGS_SQL = "SELECT set_config('random_page_cost', %s, true), set_config('jit', %s, true)"
_JOINS_SQL = "SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)"
_TEMP_TABLES = ("kpi_leads", "kpi_facts", "kpi_handoffs")


def measure_period(*, period: Period, now: datetime) -> dict[str, dict[str, Any]]:
    """The raw measures of every scope for ``period``, as of ``now``: ``{scope: {measure: value}}``.

    Call inside a transaction: it creates and drops three temporary tables on the connection.
    """
    ops = connection.ops
    params = {
        "start": ops.adapt_datetimefield_value(period.start),
        "end": ops.adapt_datetimefield_value(period.end),
        "now": ops.adapt_datetimefield_value(now),
        "first_day": ops.adapt_datefield_value(period.first_day),
        "end_day": ops.adapt_datefield_value(period.end_day),
    }
    names = _scope_names(period)
    measures: dict[str, dict[str, Any]] = {scope: {} for scope in names.universe}
    stages: StageIds = {}
    for pk, kind in Stage.objects.values_list("pk", "kind"):
        stages.setdefault(kind, []).append(pk)

    def scope_measures(skind: int, sid: int) -> dict[str, Any]:
        name = names.name(skind, sid)
        # A campaign or persona created while we compute has no name yet; its numbers land next time.
        return measures.setdefault(name, {}) if name else {}

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The working set is in memory: random reads are nearly as cheap as sequential ones, so index
            # lookups for the period's leads beat scanning every lead.
            # The statements are short and planned once; compiling them (JIT) costs more than it saves.
            cursor.execute(_SETTINGS_SQL, ["1.1", "off"])
        for table in _TEMP_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(_period_leads_sql(stages), params)
        if connection.vendor == "postgresql":
            # TRICKY: the period's leads and hand-offs are a small share of all leads, and each needs its
            # lead's campaign, persona and owner: one primary-key probe per row. Left to itself the planner
            # hashes the whole leads table instead (it cannot know how few rows the period has without an
            # ANALYZE, and even with one it prices the probes too high), so hash and merge joins are off for
            # these two statements only: the aggregates below hash-join temporary tables and need them.
            cursor.execute(_JOINS_SQL, ["off", "off"])
        cursor.execute(_facts_sql(stages), params)
        cursor.execute(_handoffs_sql(), params)
        if connection.vendor == "postgresql":
            cursor.execute(_JOINS_SQL, ["on", "on"])
        for skind, sid, *values in _rows(cursor, _lead_measures_sql(), params):
            scope_measures(skind, sid).update(zip(_LEAD_MEASURE_NAMES, map(_number, values), strict=True))
        for skind, sid, due, met in _rows(cursor, _handoff_measures_sql(), params):
            scope_measures(skind, sid).update(handoffs_due=due, handoffs_met=met)
        for measure, skind, sid, value in _rows(cursor, _medians_sql(), params):
            scope_measures(skind, sid)[_MEDIAN_MEASURES[measure]] = _number(value)
        for skind, sid, reason, count in _rows(cursor, _reasons_sql(), params):
            scope_measures(skind, sid).setdefault("reject_reasons", {})[reason] = count
        costs = {names.campaigns.get(pk): _number(amount) for pk, amount in _rows(cursor, _COSTS_SQL, params)}
        for table in _TEMP_TABLES:
            cursor.execute(f"DROP TABLE {table}")

    for scope, values in measures.items():
        if scope == "all":
            values["cost"] = sum(costs.values(), 0.0)
        elif scope.startswith("campaign:"):
            values["cost"] = costs.get(scope.removeprefix("campaign:"), 0)
        else:
            values["cost"] = None
    return measures


def _upsert(rows: list[KpiSnapshot], *, period: str, now: datetime) -> None:
    """Insert or update the snapshot rows on (metric, period, scope).

    PostgreSQL takes them in one statement, as three arrays unnested (values as JSON text, SQL NULL for
    ``None`` as the JSON field stores it); elsewhere the ORM's batched upsert does it.
    """
    if connection.vendor != "postgresql":
        KpiSnapshot.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["metric", "period", "scope"],
            update_fields=["value", "computed_at"],
        )
        return
    table = connection.ops.quote_name(KpiSnapshot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (metric, period, scope, value, computed_at)
            SELECT u.metric, %s, u.scope, u.value::jsonb, %s
            FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS u(metric, scope, value, n)
            ORDER BY u.n
            ON CONFLICT (metric, period, scope)
            DO UPDATE SET value = EXCLUDED.value, computed_at = EXCLUDED.computed_at
            """,
            [
                period,
                now,
                [row.metric for row in rows],
                [row.scope for row in rows],
                [None if row.value is None else json.dumps(row.value) for row in rows],
            ],
        )


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
        _upsert(rows, period=period.key, now=now)
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
