"""The joint KPIs: one registry of what each KPI is and how it is derived from a scope's measures.

The registry drives the API (``/api/v1/kpis/definitions/``), the pages and goal pacing. How the measures are
counted is ``alignment.kpi_sql``'s job and how they are stored ``alignment.snapshots``'.

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
* ``lost_reasons``: leads that entered a lost stage in the period with a lost reason, by reason slug (a
  lead lost twice for different reasons counts under both).
* Scopes: ``all``, ``campaign:<slug>``, ``persona:<slug>`` (the lead's), ``rep:<id>`` — the lead's owner,
  or when it has none the rep of its latest hand-off; hand-off KPIs use the hand-off's rep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leads.models import StageKind

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
    # Out of the repr, which names a KPI in the cache keys of the pages' fragments (a function's repr is
    # its address, different in each process).
    compute: Callable[[Measures], Any] = field(repr=False)
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
        ("won", "lost", "lost_reasons"),
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
    Kpi(
        "lost_reasons",
        "Lost reasons",
        "leads by reason",
        "Deals lost in the period, by reason.",
        False,
        True,
        lambda m: dict(sorted((m.get("lost_reasons") or {}).items())),
    ),
)
KPIS: dict[str, Kpi] = {kpi.key: kpi for kpi in REGISTRY}
# KPIs counted per reason (a mapping, not a number): no goals, no trend lines.
BY_REASON_KEYS = frozenset({"reject_reasons", "lost_reasons"})
NUMERIC_KEYS = [kpi.key for kpi in REGISTRY if kpi.key not in BY_REASON_KEYS]


# The measures behind the KPIs (``Measures`` keys), as ``alignment.kpi_sql`` counts them per scope.
# Leads entering a stage of each kind in the period.
ENTRY_KINDS: dict[str, str] = {
    "mqls": StageKind.MQL.value, "sals": StageKind.SAL.value, "sqls": StageKind.SQL.value,
    "opportunities": StageKind.OPPORTUNITY.value, "won": StageKind.WON.value, "lost": StageKind.LOST.value,
}  # fmt: skip
# Marketing's credit per marketing-sourced lead for the deepest stage kind it entered in the period.
DEPTH_POINTS: dict[str, int] = {
    StageKind.MQL.value: 1, StageKind.SAL.value: 2, StageKind.SQL.value: 3, StageKind.OPPORTUNITY.value: 5,
    StageKind.WON.value: 10,
}  # fmt: skip
