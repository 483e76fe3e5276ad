"""The KPI computation's hand-written SQL: the measures of every scope of a period, and the snapshot upsert.

Statement text, the one PostgreSQL/SQLite switch (``_dialect``), table names from ``_meta`` and enum values
from the models' choices live here; ``alignment.snapshots`` calls ``measure_period`` and
``upsert_snapshots`` and gets named rows back. The rules the statements count are written down in
``alignment.kpi_definitions``.

Every aggregate expands the same rows into scopes: a row belongs to ``all``, to its campaign, its persona and
its rep. PostgreSQL groups the rows four ways in one read (GROUPING SETS); SQLite has no grouping sets and
expands the rows with UNION ALL before grouping once. A scope is (``skind``, ``sid``) in the statements:
integers, so sorting and grouping never compare text under the database's collation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection

from alignment.kpi_definitions import DEPTH_POINTS, ENTRY_KINDS
from alignment.models import KpiSnapshot
from alignment.scopes import ScopeKey, ScopeKind
from funnel.models import Handoff, HandoffStatus
from leads.models import CampaignCost, Lead, LostReason, RejectReason, Source, Stage, StageKind, Transition

# The scope kinds as the statements number them (``skind``).
SCOPE_KINDS: tuple[str, ...] = tuple(
    kind.value for kind in (ScopeKind.ALL, ScopeKind.CAMPAIGN, ScopeKind.PERSONA, ScopeKind.REP)
)
ALL, CAMPAIGN, PERSONA, REP = range(4)

_MQL, _SAL, _SQL = StageKind.MQL.value, StageKind.SAL.value, StageKind.SQL.value
_OPPORTUNITY, _WON = StageKind.OPPORTUNITY.value, StageKind.WON.value
_ACCEPTED, _REJECTED = HandoffStatus.ACCEPTED.value, HandoffStatus.REJECTED.value
_OPEN, _REASSIGNED, _WITHDRAWN = (
    HandoffStatus.OPEN.value,
    HandoffStatus.REASSIGNED.value,
    HandoffStatus.WITHDRAWN.value,
)


# --- Named rows out -------------------------------------------------------------------------------------
class LeadMeasures(NamedTuple):
    """One scope's lead counts and amounts; the field names are the measure names the KPIs read."""

    scope: ScopeKey
    new_leads: int
    mqls: int
    sals: int
    sqls: int
    opportunities: int
    won: int
    lost: int
    accepted: int
    rejected: int
    reached_sql: int
    pipeline_amount: float | None
    won_amount: float | None
    marketing_won_amount: float | None
    depth_credit: int

    def measures(self) -> dict[str, Any]:
        return {name: value for name, value in self._asdict().items() if name != "scope"}


class HandoffMeasures(NamedTuple):
    scope: ScopeKey
    handoffs_due: int
    handoffs_met: int

    def measures(self) -> dict[str, Any]:
        return {"handoffs_due": self.handoffs_due, "handoffs_met": self.handoffs_met}


class Median(NamedTuple):
    measure: str  # median_days_mql_to_won or median_hours_to_accept
    scope: ScopeKey
    value: float


class RejectCount(NamedTuple):
    scope: ScopeKey
    reason: str  # the reject (or lost) reason's slug
    leads: int


class CampaignSpend(NamedTuple):
    campaign_id: int
    amount: float


@dataclass(frozen=True)
class PeriodMeasures:
    leads: list[LeadMeasures]
    handoffs: list[HandoffMeasures]
    medians: list[Median]
    reasons: list[RejectCount]
    costs: list[CampaignSpend]
    lost_reasons: list[RejectCount] = field(default_factory=list)


class SnapshotRow(NamedTuple):
    metric: str
    scope: ScopeKey
    value: Any  # JSON-able; None is stored as SQL NULL


MEDIAN_MEASURES = ("median_days_mql_to_won", "median_hours_to_accept")
_TEMP_TABLES = ("kpi_leads", "kpi_facts", "kpi_handoffs")

StageIds = dict[str, list[int]]


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _scope(skind: int, sid: int) -> ScopeKey:
    return (SCOPE_KINDS[skind], int(sid))


# --- The parts both databases share ---------------------------------------------------------------------
def _scoped(table: str, columns: str = "x.*") -> str:
    """Rows of ``table`` (a table or a parenthesised subquery) once per scope they belong to."""
    return f"""
        SELECT {ALL} AS skind, 0 AS sid, {columns} FROM {table} x
        UNION ALL SELECT {CAMPAIGN}, x.campaign_id, {columns} FROM {table} x WHERE x.campaign_id IS NOT NULL
        UNION ALL SELECT {PERSONA}, x.persona_id, {columns} FROM {table} x WHERE x.persona_id IS NOT NULL
        UNION ALL SELECT {REP}, x.rep_id, {columns} FROM {table} x WHERE x.rep_id IS NOT NULL
    """


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
        f"MAX(CASE WHEN kind = '{kind}' THEN 1 ELSE 0 END) AS {name}" for name, kind in ENTRY_KINDS.items()
    )
    zeros = ", ".join(f"0 AS {name}" for name in ENTRY_KINDS)
    depth = " ".join(f"WHEN '{kind}' THEN {points}" for kind, points in DEPTH_POINTS.items())
    return f"""
    CREATE TEMPORARY TABLE kpi_leads AS
    WITH moves AS (
        SELECT t.lead_id, {_kind_of("t.to_stage_id", stages)} AS kind, t.at
        FROM {Transition._meta.db_table} t
        WHERE t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s
    ),
    per_lead AS (
        SELECT lead_id, {entries},
            MIN(CASE WHEN kind = '{_MQL}' THEN at END) AS first_mql_at,
            MAX(CASE WHEN kind = '{_WON}' THEN at END) AS won_at,
            MAX(CASE kind {depth} ELSE 0 END) AS depth
        FROM moves GROUP BY lead_id
    )
    SELECT * FROM per_lead
    UNION ALL
    SELECT l.id, {zeros}, NULL, NULL, 0
    FROM {Lead._meta.db_table} l
    WHERE l.created_at >= %(start)s AND l.created_at < %(end)s AND l.created_at <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM per_lead p WHERE p.lead_id = l.id)
    """


def _since_mql(stages: StageIds) -> str:
    """What happened to a lead between its first MQL entry in the period and now, as bits: 1 accepted (out
    of MQL into SAL or deeper), 2 rejected (a move with a reject reason), 4 reached SQL or deeper.

    One probe of the (lead, time) index per lead answers all three (rather than one probe per question).
    """
    deeper = _in(stages, _SAL, _SQL, _OPPORTUNITY, _WON)
    return f"""(
        SELECT MAX(CASE WHEN t.from_stage_id IN {_in(stages, _MQL)} AND t.to_stage_id IN {deeper}
                        THEN 1 ELSE 0 END)
             + 2 * MAX(CASE WHEN t.reject_reason_id IS NOT NULL THEN 1 ELSE 0 END)
             + 4 * MAX(CASE WHEN t.to_stage_id IN {_in(stages, _SQL, _OPPORTUNITY, _WON)}
                            THEN 1 ELSE 0 END)
        FROM {Transition._meta.db_table} t
        WHERE t.lead_id = p.lead_id AND t.at >= p.first_mql_at AND t.at <= %(now)s
    )"""


def _latest_amount(stages: StageIds, kind: str) -> str:
    """The amount given on the lead's latest entry into a stage of ``kind`` in the period."""
    return f"""(
        SELECT t.amount FROM {Transition._meta.db_table} t
        WHERE t.lead_id = p.lead_id AND t.to_stage_id IN {_in(stages, kind)}
          AND t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s
        ORDER BY t.at DESC, t.id DESC LIMIT 1
    )"""


def _facts_sql(dialect: _Dialect, stages: StageIds) -> str:
    """One row per lead of the period: its scopes, stage entries, what happened since its MQL entry.

    TRICKY: the per-lead lookups are correlated subqueries on purpose. They run only for the period's leads,
    each through the (lead, time) index; a join would let the planner scan every transition ever made.
    """
    carried = ", ".join(f"p.{name}" for name in ENTRY_KINDS)
    mql_before_win = f"""(
        SELECT MAX(t.at) FROM {Transition._meta.db_table} t
        WHERE t.lead_id = p.lead_id AND t.to_stage_id IN {_in(stages, _MQL)} AND t.at <= p.won_at
    )"""
    latest_rep = f"""(
        SELECT h.rep_id FROM {Handoff._meta.db_table} h WHERE h.lead_id = p.lead_id
        ORDER BY h.assigned_at DESC, h.id DESC LIMIT 1
    )"""
    return f"""
    CREATE TEMPORARY TABLE kpi_facts AS
    SELECT p.lead_id, l.campaign_id, l.persona_id,
        CASE WHEN l.source = '{Source.OUTBOUND.value}' THEN 0 ELSE 1 END AS marketing,
        COALESCE(l.owner_id, {latest_rep}) AS rep_id,
        CASE WHEN l.created_at >= %(start)s AND l.created_at < %(end)s THEN 1 ELSE 0 END AS new_leads,
        {carried},
        CASE WHEN p.first_mql_at IS NOT NULL THEN {_since_mql(stages)} ELSE 0 END AS outcome,
        p.depth,
        CASE WHEN p.opportunities = 1 THEN {_latest_amount(stages, _OPPORTUNITY)} END AS opp_amount,
        CASE WHEN p.won = 1 THEN {_latest_amount(stages, _WON)} END AS won_amount,
        CASE WHEN p.won_at IS NOT NULL THEN {dialect.hours_between(mql_before_win, "p.won_at")} / 24.0 END
            AS days_to_won
    FROM kpi_leads p JOIN {Lead._meta.db_table} l ON l.id = p.lead_id
    """


def _handoffs_sql(dialect: _Dialect) -> str:
    """The hand-offs due in the period (through the deadline index), judged as of now."""
    answered = f"('{_ACCEPTED}', '{_REJECTED}')"
    return f"""
    CREATE TEMPORARY TABLE kpi_handoffs AS
    SELECT h.rep_id, l.campaign_id, l.persona_id,
        CASE WHEN h.status IN {answered} AND h.closed_at <= %(now)s THEN 1
             WHEN h.sla_due_at > %(now)s THEN 0
             WHEN h.status = '{_OPEN}' OR h.closed_at > %(now)s THEN 1
             WHEN h.status IN ('{_REASSIGNED}', '{_WITHDRAWN}') AND h.closed_at > h.sla_due_at THEN 1
             ELSE 0 END AS due,
        CASE WHEN h.status IN {answered} AND h.closed_at <= h.sla_due_at AND h.closed_at <= %(now)s
             THEN 1 ELSE 0 END AS met,
        CASE WHEN h.status = '{_ACCEPTED}' AND h.closed_at <= %(now)s
             THEN {dialect.hours_between("h.assigned_at", "h.closed_at")} END AS hours_to_accept
    FROM {Handoff._meta.db_table} h JOIN {Lead._meta.db_table} l ON l.id = h.lead_id
    WHERE h.sla_due_at >= %(start)s AND h.sla_due_at < %(end)s
    """


_LEAD_AGGREGATES = """SUM(new_leads), SUM(mqls), SUM(sals), SUM(sqls), SUM(opportunities), SUM(won),
    SUM(lost),
    SUM(mqls * (outcome %% 2)), SUM(mqls * ((outcome / 2) %% 2)), SUM(mqls * ((outcome / 4) %% 2)),
    SUM(opp_amount), SUM(won_amount), SUM(marketing * won_amount), SUM(marketing * depth)"""

_DAYS = (
    f"(SELECT {MEDIAN_MEASURES.index('median_days_mql_to_won')} AS measure, campaign_id, persona_id, rep_id,"
    " days_to_won AS v FROM kpi_facts WHERE days_to_won IS NOT NULL)"
)
_HOURS = (
    f"(SELECT {MEDIAN_MEASURES.index('median_hours_to_accept')} AS measure, campaign_id, persona_id, rep_id,"
    " hours_to_accept AS v FROM kpi_handoffs WHERE hours_to_accept IS NOT NULL)"
)


def _rejected_sql() -> str:
    """Leads rejected in the period with their scopes and the reason's slug."""
    return _by_reason_sql(column="reject_reason_id", reasons=RejectReason._meta.db_table)


def _lost_sql() -> str:
    """Leads lost in the period (a move carrying a lost reason) with their scopes and the reason's slug."""
    return _by_reason_sql(column="lost_reason_id", reasons=LostReason._meta.db_table)


def _by_reason_sql(*, column: str, reasons: str) -> str:
    """Leads whose transitions in the period carry a reason in ``column``, with scopes and reason slug.

    TRICKY: the reason's slug is joined only after the distinct (lead, reason id) pairs are found, so the
    period's transitions are read through the time index (joining first invites a walk of the reason
    index over every rejection ever made).
    """
    return f"""(
        SELECT f.campaign_id, f.persona_id, f.rep_id, r.slug AS reason
        FROM (
            SELECT DISTINCT t.lead_id, t.{column} AS reason_id FROM {Transition._meta.db_table} t
            WHERE t.at >= %(start)s AND t.at < %(end)s AND t.at <= %(now)s AND t.{column} IS NOT NULL
        ) rr
        JOIN {reasons} r ON r.id = rr.reason_id
        JOIN kpi_facts f ON f.lead_id = rr.lead_id
    )"""


def _costs_sql() -> str:
    return f"""
        SELECT cc.campaign_id, SUM(cc.amount) FROM {CampaignCost._meta.db_table} cc
        WHERE cc.month >= %(first_day)s AND cc.month < %(end_day)s GROUP BY cc.campaign_id
    """


# --- The one PostgreSQL/SQLite switch --------------------------------------------------------------------
class _Dialect:
    """SQLite: no grouping sets, no ordered-set aggregates, no arrays; the same answers by other means."""

    def grouped(self, table: str, aggregates: str, extra: str = "") -> str:
        """``aggregates`` over ``table``'s rows per scope (``skind``, ``sid``), and per ``extra`` if given."""
        by = f", {extra}" if extra else ""
        return f"SELECT skind, sid{by}, {aggregates} FROM ({_scoped(table)}) x GROUP BY skind, sid{by}"

    def hours_between(self, start: str, end: str) -> str:
        return f"((julianday({end}) - julianday({start})) * 24.0)"

    def medians(self) -> str:
        """The median of each measure per scope.

        TRICKY: SQLite has no percentile_cont; the rows are ranked per (measure, scope) and the middle row, or
        the two middle rows averaged, is the median, which is what percentile_cont(0.5) returns.
        """
        return f"""
            WITH vals AS (
                SELECT measure, skind, sid, v FROM ({_scoped(_DAYS, "x.measure, x.v")}) f
                UNION ALL
                SELECT measure, skind, sid, v FROM ({_scoped(_HOURS, "x.measure, x.v")}) h
            ),
            ranked AS (
                SELECT measure, skind, sid, v,
                    ROW_NUMBER() OVER (PARTITION BY measure, skind, sid ORDER BY v) AS rn,
                    COUNT(*) OVER (PARTITION BY measure, skind, sid) AS n
                FROM vals
            )
            SELECT measure, skind, sid, AVG(v) FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
            GROUP BY measure, skind, sid
        """

    def reasons(self, by_reason: str) -> str:
        """Leads per scope and reason, from ``_rejected_sql()`` or ``_lost_sql()``."""
        return self.grouped(by_reason, "COUNT(*)", extra="reason")

    def begin(self, cursor: Any) -> None:
        """Settings for the whole computation (none on SQLite)."""

    def probe_leads(self, cursor: Any, *, on: bool) -> None:
        """Around the statements that look up each row's lead (nothing to do on SQLite)."""

    def upsert(self, cursor: Any, rows: Sequence[SnapshotRow], *, period: str, now: datetime) -> None:
        """One INSERT … ON CONFLICT for every row, the rows passed as one JSON array (no variable limit)."""
        table = KpiSnapshot._meta.db_table
        data = [[row.metric, *_scope_columns(row.scope), _json(row.value)] for row in rows]
        # TRICKY: SQLite needs a WHERE in an INSERT … SELECT with an upsert clause, or it cannot parse it.
        cursor.execute(
            f"""
            INSERT INTO {table}
                (metric, period, scope_kind, campaign_id, persona_id, rep_id, value, computed_at)
            SELECT json_extract(j.value, '$[0]'), %s, json_extract(j.value, '$[1]'),
                json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]'), json_extract(j.value, '$[4]'),
                json_extract(j.value, '$[5]'), %s
            FROM json_each(%s) j WHERE true ORDER BY j.key
            ON CONFLICT (period, scope_kind, scope_ref, metric)
            DO UPDATE SET value = excluded.value, computed_at = excluded.computed_at
            """,
            [period, connection.ops.adapt_datetimefield_value(now), json.dumps(data)],
        )


# Settings for the current transaction only (``SET LOCAL``), several in one statement.
_SETTINGS_SQL = "SELECT set_config('random_page_cost', %s, true), set_config('jit', %s, true)"
_JOINS_SQL = "SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)"


class _Postgres(_Dialect):
    def grouped(self, table: str, aggregates: str, extra: str = "") -> str:
        """Read the rows once and group them four ways with GROUPING SETS.

        A row with no campaign, persona or rep belongs to no such scope, so the NULL group of each of those
        sets is dropped. ``GROUPING(c, p, r)`` tells the sets apart: 7 is ``all``, 3 groups by campaign, 5 by
        persona, 6 by rep.
        """
        by = f", {extra}" if extra else ""
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

    def hours_between(self, start: str, end: str) -> str:
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"

    def medians(self) -> str:
        """The median of each measure per scope: PostgreSQL's ordered-set aggregate."""
        values = f"({_DAYS.strip('()')} UNION ALL {_HOURS.strip('()')})"
        median = self.grouped(values, "percentile_cont(0.5) WITHIN GROUP (ORDER BY x.v)", extra="x.measure")
        return f"SELECT measure, skind, sid, m FROM ({median}) AS medians(skind, sid, measure, m)"

    def reasons(self, by_reason: str) -> str:
        return self.grouped(by_reason, "COUNT(*)", extra="x.reason")

    def begin(self, cursor: Any) -> None:
        # The working set is in memory: random reads are nearly as cheap as sequential ones, so index lookups
        # for the period's leads beat scanning every lead. The statements are short and planned once;
        # compiling them (JIT) costs more than it saves.
        cursor.execute(_SETTINGS_SQL, ["1.1", "off"])

    def probe_leads(self, cursor: Any, *, on: bool) -> None:
        # TRICKY: the period's leads and hand-offs are a small share of all leads, and each needs its lead's
        # campaign, persona and owner: one primary-key probe per row. Left to itself the planner hashes the
        # whole leads table instead (it cannot know how few rows the period has without an ANALYZE, and even
        # with one it prices the probes too high), so hash and merge joins are off for these two statements
        # only: the aggregates after them hash-join temporary tables and need them.
        value = "off" if on else "on"
        cursor.execute(_JOINS_SQL, [value, value])

    def upsert(self, cursor: Any, rows: Sequence[SnapshotRow], *, period: str, now: datetime) -> None:
        """One statement for every row: the columns as arrays unnested (values as JSON text)."""
        kinds, campaigns, personas, reps = zip(*(_scope_columns(row.scope) for row in rows), strict=True)
        cursor.execute(
            f"""
            INSERT INTO {KpiSnapshot._meta.db_table}
                (metric, period, scope_kind, campaign_id, persona_id, rep_id, value, computed_at)
            SELECT u.metric, %s, u.kind, u.campaign_id, u.persona_id, u.rep_id, u.value::jsonb, %s
            FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[])
                WITH ORDINALITY AS u(metric, kind, campaign_id, persona_id, rep_id, value, n)
            ORDER BY u.n
            ON CONFLICT (period, scope_kind, scope_ref, metric)
            DO UPDATE SET value = EXCLUDED.value, computed_at = EXCLUDED.computed_at
            """,
            [
                period,
                now,
                [row.metric for row in rows],
                list(kinds),
                list(campaigns),
                list(personas),
                list(reps),
                [_json(row.value) for row in rows],
            ],
        )


def _dialect() -> _Dialect:
    return _Postgres() if connection.vendor == "postgresql" else _Dialect()


def _scope_columns(scope: ScopeKey) -> tuple[str, int | None, int | None, int | None]:
    """(kind, campaign id, persona id, rep id) of a scope."""
    kind, ref = scope
    return (
        kind,
        ref if kind == ScopeKind.CAMPAIGN else None,
        ref if kind == ScopeKind.PERSONA else None,
        ref if kind == ScopeKind.REP else None,
    )


def _json(value: Any) -> str | None:
    """A snapshot value as JSON text; ``None`` stays SQL NULL, as the JSON field stores it."""
    return None if value is None else json.dumps(value)


# --- What the domain module calls -----------------------------------------------------------------------
def stage_ids_by_kind() -> StageIds:
    stages: StageIds = {}
    for pk, kind in Stage.objects.values_list("pk", "kind"):
        stages.setdefault(kind, []).append(pk)
    return stages


def measure_period(
    *, start: datetime, end: datetime, now: datetime, first_day: date, end_day: date
) -> PeriodMeasures:
    """The measures of every scope that has data in [``start``, ``end``) as of ``now``, and campaign costs
    for the months [``first_day``, ``end_day``).

    Call inside a transaction: it creates and drops three temporary tables on the connection.
    """
    dialect, ops = _dialect(), connection.ops
    params = {
        "start": ops.adapt_datetimefield_value(start),
        "end": ops.adapt_datetimefield_value(end),
        "now": ops.adapt_datetimefield_value(now),
        "first_day": ops.adapt_datefield_value(first_day),
        "end_day": ops.adapt_datefield_value(end_day),
    }
    stages = stage_ids_by_kind()
    with connection.cursor() as cursor:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            cursor.execute(sql, params)
            return cursor.fetchall()

        dialect.begin(cursor)
        for table in _TEMP_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(_period_leads_sql(stages), params)
        dialect.probe_leads(cursor, on=True)
        cursor.execute(_facts_sql(dialect, stages), params)
        cursor.execute(_handoffs_sql(dialect), params)
        dialect.probe_leads(cursor, on=False)
        measures = PeriodMeasures(
            leads=[
                LeadMeasures(_scope(skind, sid), *map(_number, values))
                for skind, sid, *values in rows(dialect.grouped("kpi_facts", _LEAD_AGGREGATES))
            ],
            handoffs=[
                HandoffMeasures(_scope(skind, sid), due, met)
                for skind, sid, due, met in rows(dialect.grouped("kpi_handoffs", "SUM(due), SUM(met)"))
            ],
            medians=[
                Median(MEDIAN_MEASURES[measure], _scope(skind, sid), _number(value))
                for measure, skind, sid, value in rows(dialect.medians())
            ],
            reasons=[
                RejectCount(_scope(skind, sid), reason, count)
                for skind, sid, reason, count in rows(dialect.reasons(_rejected_sql()))
            ],
            costs=[CampaignSpend(pk, _number(amount)) for pk, amount in rows(_costs_sql())],
            lost_reasons=[
                RejectCount(_scope(skind, sid), reason, count)
                for skind, sid, reason, count in rows(dialect.reasons(_lost_sql()))
            ],
        )
        for table in _TEMP_TABLES:
            cursor.execute(f"DROP TABLE {table}")
    return measures


def upsert_snapshots(*, rows: Sequence[SnapshotRow], period: str, now: datetime) -> None:
    """Insert or update ``rows`` on (period, scope, metric) in one statement, in the order given."""
    if not rows:
        return
    with connection.cursor() as cursor:
        _dialect().upsert(cursor, rows, period=period, now=now)
