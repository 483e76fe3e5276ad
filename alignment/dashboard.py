"""What the shared dashboard and the goals page show, read from KPI snapshots only.

Every function here runs a fixed number of queries whatever the number of leads: pages never aggregate the
pipeline, they read the snapshots that ``alignment.kpis.compute_snapshots`` wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.safestring import mark_safe

from alignment import charts
from alignment.goals import STATUS_LABELS, Progress, progress_for
from alignment.kpis import KPIS, NUMERIC_KEYS, REGISTRY, Kpi
from alignment.models import Goal, KpiSnapshot
from alignment.periods import (
    InvalidPeriod,
    Period,
    current_month,
    current_quarter,
    last_months,
    month_of,
    parse_period,
    quarter_of,
)
from core.roles import SALES

WATERFALL = [
    ("New leads", "new_leads", "team-marketing"),
    ("MQL", "mqls", "team-marketing"),
    ("SAL", "sals", "team-sales"),
    ("SQL", "sqls", "team-sales"),
    ("Opportunity", "opportunities", "team-sales"),
    ("Won", "won", "team-sales"),
]
TILES = ["mqls", "sqls", "acceptance_rate", "sla_compliance", "won_amount", "funnel_depth_credit"]


# --- Formatting -----------------------------------------------------------------------------------------
def format_value(kpi: Kpi | str, value: Any) -> str:
    kpi = KPIS[kpi] if isinstance(kpi, str) else kpi
    if value is None:
        return "—"
    if kpi.unit == "share":
        return f"{float(value) * 100:.0f} %"
    if kpi.unit == "hours":
        return f"{float(value):.1f} h"
    if kpi.unit == "days":
        return f"{float(value):.1f} d"
    if kpi.unit == "amount":
        return f"{float(value):,.0f}"
    if kpi.unit == "leads by reason":
        if not value:
            return "none"
        top, count = max(value.items(), key=lambda item: (item[1], item[0]))
        return f"{sum(value.values()):,} leads; most often {top} ({count:,})"
    return f"{int(value):,}"


def unit_label(kpi: Kpi) -> str:
    return {
        "share": "%",
        "hours": "hours",
        "days": "days",
        "amount": "currency units",
        "points": "points",
    }.get(kpi.unit, "leads")


def _fmt_for(key: str) -> charts.Formatter:
    return lambda value: format_value(key, value)


# --- Filters --------------------------------------------------------------------------------------------
@dataclass
class Option:
    value: str
    label: str


@dataclass
class Filters:
    period: Period
    campaign: str = ""
    persona: str = ""
    rep: str = ""
    errors: list[str] = field(default_factory=list)
    note: str = ""
    campaigns: list[Option] = field(default_factory=list)
    personas: list[Option] = field(default_factory=list)
    reps: list[Option] = field(default_factory=list)
    periods: list[Option] = field(default_factory=list)
    reason_labels: dict[str, str] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        if self.campaign:
            return f"campaign:{self.campaign}"
        if self.persona:
            return f"persona:{self.persona}"
        if self.rep:
            return f"rep:{self.rep}"
        return "all"

    @property
    def scope_label(self) -> str:
        for chosen, options, kind in (
            (self.campaign, self.campaigns, "Campaign"),
            (self.persona, self.personas, "Persona"),
            (self.rep, self.reps, "Rep"),
        ):
            if chosen:
                label = next((o.label for o in options if o.value == chosen), chosen)
                return f"{kind}: {label}"
        return "All leads"

    def options_html(self, kind: str) -> str:
        """The ``<option>`` elements of one filter, built once in Python: with a hundred reps and campaigns
        this is most of the page, and the template engine would resolve four variables per option."""
        chosen, options = {
            "period": (self.period.key, self.periods),
            "campaign": (self.campaign, self.campaigns),
            "persona": (self.persona, self.personas),
            "rep": (self.rep, self.reps),
        }[kind]
        return mark_safe(  # noqa: S308 - every value and label is escaped right here
            "".join(
                f'<option value="{escape(o.value)}"{" selected" if o.value == chosen else ""}>'
                f"{escape(o.label)}</option>"
                for o in options
            )
        )

    @property
    def period_options_html(self) -> str:
        return self.options_html("period")

    @property
    def campaign_options_html(self) -> str:
        return self.options_html("campaign")

    @property
    def persona_options_html(self) -> str:
        return self.options_html("persona")

    @property
    def rep_options_html(self) -> str:
        return self.options_html("rep")

    def query(self, **extra: str) -> str:
        from urllib.parse import urlencode

        params = {
            "period": self.period.key,
            "campaign": self.campaign,
            "persona": self.persona,
            "rep": self.rep,
        }
        params.update(extra)
        return urlencode({k: v for k, v in params.items() if v})


def period_options(selected: Period, *, today: date) -> list[Option]:
    months = last_months(12, until=month_of(today))
    quarters, quarter = [], quarter_of(today)
    for _ in range(4):
        quarters.append(quarter)
        quarter = quarter.previous()
    options = [Option(p.key, p.label) for p in reversed(months)] + [Option(q.key, q.label) for q in quarters]
    if selected.key not in {o.value for o in options}:
        options.insert(0, Option(selected.key, selected.label))
    return options


_OPTIONS_SQL = """
    SELECT 'campaign', slug, name FROM leads_campaign
    UNION ALL SELECT 'persona', slug, name FROM leads_persona
    UNION ALL SELECT 'rep', CAST(u.id AS TEXT),
        CASE WHEN u.first_name = '' AND u.last_name = '' THEN u.username
             ELSE TRIM(u.first_name || ' ' || u.last_name) END
        FROM auth_user u
        WHERE u.id IN (SELECT ug.user_id FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
                       WHERE g.name = %s)
    UNION ALL SELECT 'reason', slug, label FROM leads_rejectreason
"""


def filter_options() -> dict[str, list[Option]]:
    """Campaigns, personas, sales reps and reject reasons, sorted by label, in one query."""
    options: dict[str, list[Option]] = {"campaign": [], "persona": [], "rep": [], "reason": []}
    with connection.cursor() as cursor:
        cursor.execute(_OPTIONS_SQL, [SALES])
        for kind, value, label in cursor.fetchall():
            options[kind].append(Option(value, label))
    for values in options.values():
        values.sort(key=lambda option: (option.label.lower(), option.value))
    return options


def read_filters(params: Mapping[str, str]) -> Filters:
    """Filters from the URL, checked against the options (one query)."""
    errors = []
    raw_period = (params.get("period") or "").strip()
    try:
        period = parse_period(raw_period) if raw_period else current_month()
    except InvalidPeriod as exc:
        errors.append(f"Period: {exc}")
        period = current_month()
    filters = Filters(period=period)
    options = filter_options()
    filters.campaigns, filters.personas, filters.reps = (
        options["campaign"],
        options["persona"],
        options["rep"],
    )
    filters.reason_labels = {o.value: o.label for o in options["reason"]}
    chosen = []
    for name, options in (
        ("campaign", filters.campaigns),
        ("persona", filters.personas),
        ("rep", filters.reps),
    ):
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if value not in {o.value for o in options}:
            errors.append(f"{name.title()}: no {name} {value!r}.")
            continue
        chosen.append(name)
        if len(chosen) == 1:
            setattr(filters, name, value)
    if len(chosen) > 1:
        filters.note = (
            f"Numbers are kept per campaign, persona or rep, one at a time: showing {filters.scope_label}."
        )
    filters.errors = errors
    filters.periods = period_options(period, today=timezone.localdate())
    return filters


# --- Snapshots ------------------------------------------------------------------------------------------
@dataclass
class Values:
    """Snapshot values of one scope: ``get(period, key)``."""

    by_period: dict[str, dict[str, Any]]
    computed_at: dict[str, datetime]

    def get(self, period: Period, key: str) -> Any:
        return self.by_period.get(period.key, {}).get(key)


def read_values(*, scope: str, periods: list[Period]) -> Values:
    by_period: dict[str, dict[str, Any]] = {}
    computed_at: dict[str, datetime] = {}
    rows = KpiSnapshot.objects.filter(scope=scope, period__in=[p.key for p in periods]).values_list(
        "period", "metric", "value", "computed_at"
    )
    for period, metric, value, at in rows:
        by_period.setdefault(period, {})[metric] = value
        if period not in computed_at or at > computed_at[period]:
            computed_at[period] = at
    return Values(by_period=by_period, computed_at=computed_at)


def trend_months(period: Period) -> list[Period]:
    return last_months(12, until=month_of(period.end_day - timedelta(days=1)))


# --- The dashboard --------------------------------------------------------------------------------------
@dataclass
class GoalRow:
    goal: Goal
    kpi: Kpi
    progress: Progress
    bar: charts.ProgressBar
    value_display: str
    target_display: str
    pace_display: str
    status_label: str
    scope_label: str


def goal_rows(
    goals: list[Goal], progress: dict[int, Progress], scope_labels: Mapping[str, str]
) -> list[GoalRow]:
    rows = []
    for goal in goals:
        kpi = KPIS.get(goal.metric)
        if kpi is None:
            continue
        p = progress[goal.pk]
        pace_value = float(goal.target) * p.expected_ratio
        rows.append(
            GoalRow(
                goal=goal,
                kpi=kpi,
                progress=p,
                bar=charts.progress_bar(p.ratio, p.expected_ratio, p.status),
                value_display=format_value(kpi, p.value),
                target_display=format_value(kpi, goal.target),
                pace_display=format_value(kpi, pace_value),
                status_label=STATUS_LABELS[p.status],
                scope_label=scope_labels.get(goal.scope, goal.scope),
            )
        )
    return rows


def scope_labels(filters: Filters) -> dict[str, str]:
    labels = {"all": "All leads"}
    labels.update({f"campaign:{o.value}": o.label for o in filters.campaigns})
    labels.update({f"persona:{o.value}": o.label for o in filters.personas})
    labels.update({f"rep:{o.value}": o.label for o in filters.reps})
    return labels


def _delta(kpi: Kpi, now: Any, before: Any) -> tuple[str, str]:
    if now is None or before is None or isinstance(now, dict):
        return "", ""
    diff = float(now) - float(before)
    if abs(diff) < 1e-9:
        return "no change", "flat"
    if kpi.unit == "share":
        text = f"{diff * 100:+.0f} pts"
    elif before:
        text = f"{diff / float(before) * 100:+.0f} %"
    else:
        text = f"{diff:+,.0f}"
    good = (diff > 0) == kpi.higher_is_better
    return text, "good" if good else "bad"


def build_dashboard(filters: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    period = filters.period
    previous = period.previous()
    months = trend_months(period)
    values = read_values(scope=filters.scope, periods=[*months, period, previous])
    current = values.by_period.get(period.key, {})

    goal_periods = {period.key, *(m.key for m in period.months())}
    if not period.is_quarter:
        goal_periods.add(period.quarter().key)
    goals = list(Goal.objects.filter(period__in=goal_periods).order_by("period", "name", "id"))
    progress = progress_for(goals, now=now)
    labels = scope_labels(filters)
    goals_here = goal_rows(goals, progress, labels)

    tiles = []
    for key in TILES:
        kpi = KPIS[key]
        delta, tone = _delta(kpi, current.get(key), values.get(previous, key))
        tiles.append(
            {"kpi": kpi, "display": format_value(kpi, current.get(key)), "delta": delta, "tone": tone}
        )

    counts = [(label, current.get(key), css) for label, key, css in WATERFALL]
    waterfall_rows = []
    for index, (label, count, _) in enumerate(counts):
        before = counts[index - 1][1] if index else None
        conversion = (count or 0) / before if before else None
        waterfall_rows.append({"label": label, "count": count, "conversion": conversion})
    waterfall = charts.bar_chart(
        [(label, [(count, css, label)]) for label, count, css in counts],
        fmt=_fmt_for("mqls"),
        y_label="Leads entering the stage",
        x_label=f"Stage · {period.label}",
        height=300,
    )
    for index, row in enumerate(waterfall_rows[1:], start=1):
        if row["conversion"] is not None:
            left, right = float(waterfall.x_ticks[index - 1].pos), float(waterfall.x_ticks[index].pos)
            waterfall.notes.append(
                charts.Note(
                    x=charts.n((left + right) / 2),
                    y=charts.n(waterfall.plot_top - 8),
                    text=f"{row['conversion'] * 100:.0f} %",
                    title=f"{waterfall_rows[index - 1]['label']} → {row['label']}: "
                    f"{row['conversion'] * 100:.1f} % of the entries",
                )
            )

    def goal_for(metric: str) -> GoalRow | None:
        return next(
            (
                row
                for row in goals_here
                if row.goal.metric == metric
                and row.goal.scope == filters.scope
                and row.goal.period == period.key
            ),
            None,
        )

    scoreboard = {
        "marketing": [
            {
                "kpi": KPIS["mqls"],
                "display": format_value("mqls", current.get("mqls")),
                "goal": goal_for("mqls"),
            },
            {
                "kpi": KPIS["acceptance_rate"],
                "display": format_value("acceptance_rate", current.get("acceptance_rate")),
                "goal": goal_for("acceptance_rate"),
            },
        ],
        "sales": [
            {
                "kpi": KPIS["sla_compliance"],
                "display": format_value("sla_compliance", current.get("sla_compliance")),
                "goal": goal_for("sla_compliance"),
            },
            {
                "kpi": KPIS["median_hours_to_accept"],
                "display": format_value("median_hours_to_accept", current.get("median_hours_to_accept")),
                "goal": goal_for("median_hours_to_accept"),
            },
        ],
    }

    month_labels = [m.first_day.strftime("%b") for m in months]
    trends = {
        "volume": charts.bar_chart(
            [
                (
                    label,
                    [
                        (values.get(m, "mqls"), "series-mql", "MQLs"),
                        (values.get(m, "sqls"), "series-sql", "SQLs"),
                    ],
                )
                for label, m in zip(month_labels, months, strict=True)
            ],
            fmt=_fmt_for("mqls"),
            y_label="Leads",
            height=240,
            legend=[("series-mql", "MQLs"), ("series-sql", "SQLs")],
            values_on_bars=False,
        ),
        "rates": charts.line_chart(
            month_labels,
            [
                ("series-accept", "Acceptance rate", [values.get(m, "acceptance_rate") for m in months]),
                ("series-sla", "SLA compliance", [values.get(m, "sla_compliance") for m in months]),
            ],
            fmt=_fmt_for("acceptance_rate"),
            y_label="Share (%)",
            y_max=1.0,
        ),
        "won": charts.bar_chart(
            [
                (label, [(values.get(m, "won_amount"), "series-won", "Won amount")])
                for label, m in zip(month_labels, months, strict=True)
            ],
            fmt=_fmt_for("won_amount"),
            y_label="Currency units",
            height=240,
            values_on_bars=False,
        ),
        "speed": charts.line_chart(
            month_labels,
            [
                (
                    "series-speed",
                    "Median hours to accept",
                    [values.get(m, "median_hours_to_accept") for m in months],
                )
            ],
            fmt=_fmt_for("median_hours_to_accept"),
            y_label="Hours",
        ),
    }
    trend_rows = [{"period": m, "values": [values.get(m, key) for key in NUMERIC_KEYS]} for m in months]

    reason_labels = filters.reason_labels
    reasons = sorted((current.get("reject_reasons") or {}).items(), key=lambda item: (-item[1], item[0]))
    reason_rows = [{"slug": slug, "label": reason_labels.get(slug, slug), "count": n} for slug, n in reasons]
    reasons_chart = charts.hbar_chart(
        [(row["label"], row["count"]) for row in reason_rows],
        fmt=lambda v: f"{int(v):,}",
        x_label="Leads rejected",
    )

    kpi_rows = [
        {
            "kpi": kpi,
            "value": current.get(kpi.key),
            "display": format_value(kpi, current.get(kpi.key)),
            "previous": format_value(kpi, values.get(previous, kpi.key)),
        }
        for kpi in REGISTRY
    ]
    return {
        "filters": filters,
        "period": period,
        "previous": previous,
        "computed_at": values.computed_at.get(period.key),
        "tiles": tiles,
        "waterfall": waterfall,
        "waterfall_rows": waterfall_rows,
        "goals": goals_here,
        "scoreboard": scoreboard,
        "trends": trends,
        "trend_keys": NUMERIC_KEYS,
        "trend_rows": trend_rows,
        "reasons": reason_rows,
        "reasons_chart": reasons_chart,
        "kpi_rows": kpi_rows,
    }


def dashboard_csv(context: dict[str, Any], table: str) -> tuple[list[str], list[list[Any]]] | None:
    """Header and rows of one dashboard table, for ``?format=csv&table=…`` (``None`` if unknown)."""
    period = context["period"].key
    scope = context["filters"].scope
    if table == "kpis":
        return ["period", "scope", "key", "label", "unit", "value"], [
            [period, scope, r["kpi"].key, r["kpi"].label, r["kpi"].unit, _csv_value(r["value"])]
            for r in context["kpi_rows"]
        ]
    if table == "waterfall":
        return ["period", "scope", "stage", "leads", "conversion_from_previous"], [
            [period, scope, r["label"], r["count"], _round(r["conversion"])]
            for r in context["waterfall_rows"]
        ]
    if table == "goals":
        return goals_csv(context["goals"])
    if table == "scoreboard":
        rows = []
        for side, items in context["scoreboard"].items():
            for item in items:
                goal = item["goal"]
                rows.append(
                    [
                        period,
                        scope,
                        side,
                        item["kpi"].key,
                        item["display"],
                        goal.target_display if goal else "",
                    ]
                )
        return ["period", "scope", "team", "kpi", "value", "goal"], rows
    if table == "trends":
        return ["month", "scope", *context["trend_keys"]], [
            [r["period"].key, scope, *r["values"]] for r in context["trend_rows"]
        ]
    if table == "reasons":
        return ["period", "scope", "reason", "label", "leads"], [
            [period, scope, r["slug"], r["label"], r["count"]] for r in context["reasons"]
        ]
    return None


def goals_csv(rows: list[GoalRow]) -> tuple[list[str], list[list[Any]]]:
    header = ["name", "metric", "period", "scope", "target", "value", "ratio", "expected_ratio", "status"]
    return header, [
        [
            r.goal.name,
            r.goal.metric,
            r.goal.period,
            r.goal.scope,
            float(r.goal.target),
            _csv_value(r.progress.value),
            r.progress.ratio,
            r.progress.expected_ratio,
            r.progress.status,
        ]
        for r in rows
    ]


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- The goals page -------------------------------------------------------------------------------------
@dataclass
class GoalReview:
    row: GoalRow
    trend: charts.LineChart
    drivers: list[dict[str, str]]
    by_campaign: list[dict[str, str]]

    @property
    def chart_id(self) -> str:
        return f"goal-trend-{self.row.goal.pk}"


def build_goals_page(*, now: datetime | None = None, filters: Filters) -> dict[str, Any]:
    """Every goal with its status, its KPI's twelve-month trend and what drives it (four queries)."""
    now = now or timezone.now()
    goals = list(Goal.objects.order_by("-period", "name", "id"))
    progress = progress_for(goals, now=now)
    rows = goal_rows(goals, progress, scope_labels(filters))
    periods: dict[str, Period] = {}
    for row in rows:
        period = parse_period(row.goal.period)
        periods[period.key] = period
        for month in trend_months(period):
            periods[month.key] = month
    metrics = {row.goal.metric for row in rows}
    metrics |= {driver for row in rows for driver in row.kpi.drivers}
    scopes = {row.goal.scope for row in rows}
    stored: dict[tuple[str, str, str], Any] = {}
    campaign_values: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    if rows:
        for metric, period_key, scope, value in KpiSnapshot.objects.filter(
            metric__in=metrics, period__in=list(periods), scope__in=scopes
        ).values_list("metric", "period", "scope", "value"):
            stored[(metric, period_key, scope)] = value
        for metric, period_key, scope, value in KpiSnapshot.objects.filter(
            metric__in={row.goal.metric for row in rows},
            period__in={row.goal.period for row in rows},
            scope__startswith="campaign:",
        ).values_list("metric", "period", "scope", "value"):
            campaign_values.setdefault((metric, period_key), []).append((scope, value))
    labels = scope_labels(filters)
    reviews = []
    for row in rows:
        goal, kpi = row.goal, row.kpi
        months = trend_months(parse_period(goal.period))
        trend = charts.line_chart(
            [m.first_day.strftime("%b") for m in months],
            [("series-1", kpi.label, [stored.get((goal.metric, m.key, goal.scope)) for m in months])],
            fmt=_fmt_for(kpi.key),
            y_label=unit_label(kpi).capitalize(),
            y_max=1.0 if kpi.unit == "share" else None,
            width=360,
            height=170,
        )
        drivers = [
            {
                "label": KPIS[key].label,
                "display": format_value(KPIS[key], stored.get((key, goal.period, goal.scope))),
            }
            for key in kpi.drivers
        ]
        contributions = [
            (scope, value)
            for scope, value in campaign_values.get((goal.metric, goal.period), [])
            if isinstance(value, int | float)
        ]
        contributions.sort(key=lambda item: item[1], reverse=kpi.higher_is_better)
        by_campaign = [
            {"label": labels.get(scope, scope), "display": format_value(kpi, value)}
            for scope, value in contributions[:3]
        ]
        reviews.append(GoalReview(row=row, trend=trend, drivers=drivers, by_campaign=by_campaign))
    return {"reviews": reviews, "rows": rows, "current_quarter": current_quarter(now)}
