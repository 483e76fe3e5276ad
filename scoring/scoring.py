"""Lead scoring: the one definition of fit, engagement, grade and score, evaluated two ways.

A scoring model (``leads.models.ScoringModel``) is compiled once into ``CompiledModel``. It is then evaluated

* in Python, for a few leads at a time (``score_leads``: a new lead or activity, the sweep), and
* in SQL on PostgreSQL, for every lead in large id ranges (``rescore_all``: activation, nightly decay),

and both give exactly the same numbers (``tests/leads/test_scoring_paths.py`` checks it with generated
leads, activities and rule sets). What makes "exactly" possible:

* Text comparisons fold ASCII letters only (``lower()`` under the "C" collation in SQL, ``str.translate``
  in Python): the databases' and Python's Unicode case rules differ, ASCII folding is the same everywhere.
* Each activity's decayed points are computed in double precision by the same C ``pow`` in both places,
  then fixed as an integer number of micro-points. Sums of integers do not depend on the order of
  addition, so the per-lead totals agree to the last digit whatever order the database adds rows in.
* The score is rounded once, at the end (half up); breakdown lines share the rounding by the largest
  remainder method, so they always sum to the score.

Decay: an activity counts ``points * 0.5^(age_days / half_life)``. Ages are cut into 30-day buckets counted
back from ``now``; in each bucket only the ``max_per_30_days`` most recent activities of a type count.
Activities later than ``now`` are not counted (they are scored by their own rescore).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from leads.models import Activity, ActivityType, Grade, Lead
from scoring.models import ScoreChange, ScoringModel, ScoringRun, ScoringRunStatus
from scoring.qualification import active_scoring_model
from scoring.signals import leads_scored

logger = logging.getLogger(__name__)

MICRO = 1_000_000
BUCKET_DAYS = 30.0
# 0.5^64 * 1,000 points is far below half a micro-point, so capping the exponent changes no result; it keeps
# PostgreSQL's power() from raising an underflow error for very old activities.
MAX_HALVINGS = 64.0
TIMES = "\u00d7"  # the multiplication sign in "Demo requested x2"
CHUNK = 1000  # leads per statement on the Python path
FULL_RUN_ID_SPAN = 50_000  # lead ids per statement on the SQL path

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "web.de",
        "t-online.de",
        "freenet.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "orange.fr",
        "free.fr",
        "libero.it",
        "qq.com",
        "163.com",
    }
)

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)


def ascii_lower(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def _sql_lower(expression: str) -> str:
    # TRICKY: under the "C" collation PostgreSQL's lower() folds ASCII letters only, like ascii_lower().
    return f'lower(({expression}) COLLATE "C")'


def email_domain(email: str) -> str:
    """The part after the last ``@`` (stored e-mail addresses always have one)."""
    return email.rpartition("@")[2]


_DOMAIN_SQL = "reverse(split_part(reverse(l.email), '@', 1))"

TEXT, NUMBER, BOOL = "text", "number", "bool"


@dataclass(frozen=True)
class FitField:
    """A lead attribute a fit rule can test: its kind, a human name and how to read it in SQL."""

    name: str
    kind: str
    label: str
    sql: str


FIT_FIELDS: dict[str, FitField] = {
    f.name: f
    for f in (
        FitField("seniority", TEXT, "Seniority", "l.seniority"),
        FitField("is_decision_maker", BOOL, "Decision-maker", "l.is_decision_maker"),
        FitField("job_title", TEXT, "Job title", "l.job_title"),
        FitField("company", TEXT, "Company", "l.company"),
        FitField("company_size", NUMBER, "Company size", "l.company_size"),
        FitField("industry", TEXT, "Industry", "l.industry"),
        FitField("country", TEXT, "Country", "l.country"),
        FitField("persona", TEXT, "Persona", "coalesce(p.slug, '')"),
        FitField("campaign", TEXT, "Campaign", "coalesce(c.slug, '')"),
        FitField("source", TEXT, "Source", "l.source"),
        FitField("utm_source", TEXT, "UTM source", "l.utm_source"),
        FitField("utm_medium", TEXT, "UTM medium", "l.utm_medium"),
        FitField("utm_campaign", TEXT, "UTM campaign", "l.utm_campaign"),
        FitField("email_domain", TEXT, "E-mail domain", _DOMAIN_SQL),
        FitField(
            "free_mail",
            BOOL,
            "Free-mail address",
            f"({_sql_lower(_DOMAIN_SQL)} = ANY(%(free_mail_domains)s))",
        ),
        FitField("consent", BOOL, "Consent", "l.consent"),
    )
}
OPERATORS_BY_KIND = {
    TEXT: ("eq", "in", "contains"),
    NUMBER: ("eq", "in", "gte", "lte"),
    BOOL: ("is_true",),
}
OPERATOR_WORDS = {
    "eq": "is",
    "in": "is one of",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
    "is_true": "is true",
}
ACTIVITY_LABELS = dict(ActivityType.choices)
GRADE_LETTERS = [str(g) for g in Grade]

# What the Python path reads of a lead (``persona__slug`` and ``campaign__slug`` become the slugs).
_LEAD_VALUES = (
    "id",
    "email",
    "seniority",
    "is_decision_maker",
    "job_title",
    "company",
    "company_size",
    "industry",
    "country",
    "persona__slug",
    "campaign__slug",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "consent",
    "score",
    "grade",
    "scored_at",
)


def lead_facts(row: dict[str, Any]) -> dict[str, Any]:
    """The values fit rules test, from a row of ``Lead.objects.values(*_LEAD_VALUES)``."""
    facts = {name: row.get(name) for name in FIT_FIELDS}
    facts["persona"] = row.get("persona__slug") or ""
    facts["campaign"] = row.get("campaign__slug") or ""
    domain = email_domain(row.get("email") or "")
    facts["email_domain"] = domain
    facts["free_mail"] = ascii_lower(domain) in FREE_MAIL_DOMAINS
    return facts


@dataclass(frozen=True)
class FitRule:
    index: int
    field: FitField
    operator: str
    value: Any  # normalised: text folded to lower case, "in" as a tuple, numbers as int
    points: int
    label: str

    def matches(self, facts: dict[str, Any]) -> bool:
        actual = facts.get(self.field.name)
        kind = self.field.kind
        if kind == BOOL:
            return actual is True
        if kind == NUMBER:
            if actual is None:
                return False
            if self.operator == "eq":
                return bool(actual == self.value)
            if self.operator == "in":
                return actual in self.value
            if self.operator == "gte":
                return bool(actual >= self.value)
            return bool(actual <= self.value)
        text = ascii_lower(actual or "")
        if self.operator == "eq":
            return text == self.value
        if self.operator == "in":
            return text in self.value
        return self.value in text

    def sql_condition(self, params: dict[str, Any]) -> str:
        name = f"fit{self.index}"
        kind = self.field.kind
        if kind == BOOL:
            return f"({self.field.sql}) IS TRUE"
        # Text fields are folded once per lead in the statement's inner query (``v_<field>``).
        expression = self.field.sql if kind == NUMBER else f"l.v_{self.field.name}"
        params[name] = list(self.value) if self.operator == "in" else self.value
        if self.operator == "contains":
            return f"strpos({expression}, %({name})s) > 0"
        sql_operator = {"eq": "=", "gte": ">=", "lte": "<="}.get(self.operator)
        if sql_operator is None:
            return f"({expression} = ANY(%({name})s)) IS TRUE"
        return f"({expression} {sql_operator} %({name})s) IS TRUE"


@dataclass(frozen=True)
class EngagementRule:
    order: int
    activity_type: str
    points: int
    max_per_30_days: int

    @property
    def label(self) -> str:
        return str(ACTIVITY_LABELS.get(self.activity_type, self.activity_type))


@dataclass(frozen=True)
class CompiledModel:
    version: int
    fit_rules: tuple[FitRule, ...]
    engagement_rules: dict[str, EngagementRule]
    half_life_days: float
    grade_bands: tuple[int, int, int]  # minimum fit for A, B and C

    def grade_for(self, fit: int) -> str:
        for letter, minimum in zip("ABC", self.grade_bands, strict=True):
            if fit >= minimum:
                return letter
        return "D"


def normalise_rule_value(kind: str, operator: str, value: Any) -> Any:
    if kind == BOOL:
        return True
    if kind == NUMBER:
        return tuple(int(v) for v in value) if operator == "in" else int(value)
    if operator == "in":
        return tuple(ascii_lower(str(v)) for v in value)
    return ascii_lower(str(value))


def compile_model(model: ScoringModel) -> CompiledModel:
    """Turn a stored (validated) model into what both evaluators use."""
    fit_rules = []
    for index, rule in enumerate(model.fit_rules):
        fit_field = FIT_FIELDS[rule["field"]]
        fit_rules.append(
            FitRule(
                index=index,
                field=fit_field,
                operator=rule["operator"],
                value=normalise_rule_value(fit_field.kind, rule["operator"], rule.get("value")),
                points=int(rule["points"]),
                label=str(rule["label"]),
            )
        )
    engagement = {
        rule["activity_type"]: EngagementRule(
            order=order,
            activity_type=rule["activity_type"],
            points=int(rule["points"]),
            max_per_30_days=int(rule["max_per_30_days"]),
        )
        for order, rule in enumerate(model.engagement_rules)
    }
    bands = model.grade_bands
    return CompiledModel(
        version=model.version,
        fit_rules=tuple(fit_rules),
        engagement_rules=engagement,
        half_life_days=float(model.engagement_half_life_days),
        grade_bands=(int(bands["A"]), int(bands["B"]), int(bands["C"])),
    )


# --- The Python evaluator --------------------------------------------------------------------------------


def decayed_micro_points(points: int, age_days: float, half_life_days: float) -> int:
    """One activity's decayed points in micro-points (the SQL path computes the same expression)."""
    halvings = min(age_days / half_life_days, MAX_HALVINGS)
    return math.floor(float(points) * (0.5**halvings) * 1000000.0 + 0.5)


@dataclass
class Score:
    fit: int
    engagement: int
    grade: str
    breakdown: list[dict[str, Any]] = field(default_factory=list)

    @property
    def score(self) -> int:
        return self.fit + self.engagement


def engagement_lines(
    model: CompiledModel, activities: Iterable[tuple[int, str, datetime]], now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    """Engagement points and their breakdown lines from ``(id, type, occurred_at)`` activities."""
    counted: dict[str, list[int]] = {}  # type -> [count, micro-points]
    seen_in_bucket: dict[tuple[str, int], int] = {}
    for _, activity_type, occurred_at in sorted(activities, key=lambda a: (a[2], a[0]), reverse=True):
        rule = model.engagement_rules.get(activity_type)
        if rule is None or occurred_at > now:
            continue
        age_days = (now - occurred_at).total_seconds() / 86400.0
        bucket = (activity_type, math.floor(age_days / BUCKET_DAYS))
        seen_in_bucket[bucket] = seen_in_bucket.get(bucket, 0) + 1
        if seen_in_bucket[bucket] > rule.max_per_30_days:
            continue
        line = counted.setdefault(activity_type, [0, 0])
        line[0] += 1
        line[1] += decayed_micro_points(rule.points, age_days, model.half_life_days)
    rules = sorted((model.engagement_rules[t] for t in counted), key=lambda r: r.order)
    total = (sum(counted[r.activity_type][1] for r in rules) + MICRO // 2) // MICRO
    bases = {r.activity_type: counted[r.activity_type][1] // MICRO for r in rules}
    extra = total - sum(bases.values())
    # Largest remainder: the rounding's leftover points go to the lines closest to their next point.
    by_remainder = sorted(rules, key=lambda r: (-(counted[r.activity_type][1] % MICRO), r.order))
    lucky = {r.activity_type for r in by_remainder[:extra]}
    lines = [
        {
            "rule": f"{r.label} {TIMES}{counted[r.activity_type][0]}",
            "points": bases[r.activity_type] + (1 if r.activity_type in lucky else 0),
        }
        for r in rules
    ]
    return total, lines


def evaluate(
    model: CompiledModel,
    facts: dict[str, Any],
    activities: Iterable[tuple[int, str, datetime]],
    now: datetime,
) -> Score:
    """Score one lead: fit from its attributes, engagement from its activities."""
    matched = [rule for rule in model.fit_rules if rule.matches(facts)]
    fit = sum(rule.points for rule in matched)
    engagement, lines = engagement_lines(model, activities, now)
    breakdown = [{"rule": rule.label, "points": rule.points} for rule in matched] + lines
    return Score(fit=fit, engagement=engagement, grade=model.grade_for(fit), breakdown=breakdown)


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def score_leads(
    *, lead_ids: Iterable[int], now: datetime | None = None, reason: str = "incremental"
) -> list[int]:
    """Rescore these leads with the active model (the incremental path); returns the ids rescored.

    One transaction per chunk of 1,000 leads; ``leads_scored`` is sent inside it.
    """
    ids = sorted(set(lead_ids))
    model = active_scoring_model()
    if model is None or not ids:
        return []
    compiled = compile_model(model)
    now = now or timezone.now()
    done: list[int] = []
    for chunk in _chunks(ids, CHUNK):
        with transaction.atomic():
            done.extend(_score_chunk(compiled, chunk, now=now, reason=reason))
    return done


def _score_chunk(model: CompiledModel, lead_ids: list[int], *, now: datetime, reason: str) -> list[int]:
    rows = list(Lead.objects.filter(pk__in=lead_ids).order_by("pk").values(*_LEAD_VALUES))
    if not rows:
        return []
    activities: dict[int, list[tuple[int, str, datetime]]] = {}
    if model.engagement_rules:
        for lead_id, activity_id, activity_type, occurred_at in Activity.objects.filter(
            lead_id__in=[row["id"] for row in rows],
            type__in=list(model.engagement_rules),
            occurred_at__lte=now,
        ).values_list("lead_id", "id", "type", "occurred_at"):
            activities.setdefault(lead_id, []).append((activity_id, activity_type, occurred_at))
    updates: list[Lead] = []
    changes: list[ScoreChange] = []
    for row in rows:
        result = evaluate(model, lead_facts(row), activities.get(row["id"], ()), now)
        updates.append(
            Lead(
                pk=row["id"],
                score=result.score,
                fit_score=result.fit,
                engagement_score=result.engagement,
                grade=result.grade,
                score_breakdown=result.breakdown,
                scored_at=now,
                scoring_version=model.version,
            )
        )
        first = row["scored_at"] is None
        if first or row["score"] != result.score or row["grade"] != result.grade:
            changes.append(
                ScoreChange(
                    lead_id=row["id"],
                    at=now,
                    model_version=model.version,
                    score=result.score,
                    grade=result.grade,
                    previous_score=None if first else row["score"],
                    previous_grade="" if first else row["grade"],
                    reason=reason,
                )
            )
    Lead.objects.bulk_update(
        updates,
        fields=[
            "score",
            "fit_score",
            "engagement_score",
            "grade",
            "score_breakdown",
            "scored_at",
            "scoring_version",
        ],
        batch_size=500,
    )
    ScoreChange.objects.bulk_create(changes, batch_size=1000)
    scored = [row["id"] for row in rows]
    leads_scored.send(sender=Lead, lead_ids=scored)
    return scored


# --- The SQL evaluator (PostgreSQL) ----------------------------------------------------------------------


def scoring_sql(model: CompiledModel, *, by: str) -> tuple[str, dict[str, Any]]:
    """One statement that scores a set of leads, records changes and writes the scores.

    ``by="range"`` takes ``%(lo)s``/``%(hi)s`` (lead ids, inclusive); ``by="ids"`` takes ``%(ids)s``.
    It also takes ``%(now)s`` and ``%(reason)s``, and returns the ids it scored.
    """
    params: dict[str, Any] = {
        "free_mail_domains": sorted(FREE_MAIL_DOMAINS),
        "half_life": model.half_life_days,
        "version": model.version,
        "band_a": model.grade_bands[0],
        "band_b": model.grade_bands[1],
        "band_c": model.grade_bands[2],
        "times": f" {TIMES}",
    }
    if by == "range":
        lead_filter, activity_filter = "l.id BETWEEN %(lo)s AND %(hi)s", "a.lead_id BETWEEN %(lo)s AND %(hi)s"
    else:
        lead_filter, activity_filter = "l.id = ANY(%(ids)s)", "a.lead_id = ANY(%(ids)s)"
    matches, fit_terms, line_terms = [], ["0"], ["'[]'::jsonb"]
    for rule in model.fit_rules:
        i = rule.index
        matches.append(f"{rule.sql_condition(params)} AS m{i}")
        params[f"points{i}"] = rule.points
        params[f"line{i}"] = json.dumps([{"rule": rule.label, "points": rule.points}])
        fit_terms.append(f"CASE WHEN m{i} THEN %(points{i})s ELSE 0 END")
        line_terms.append(f"CASE WHEN m{i} THEN %(line{i})s::jsonb ELSE '[]'::jsonb END")
    rules = sorted(model.engagement_rules.values(), key=lambda r: r.order)
    params["types"] = [r.activity_type for r in rules]
    if rules:
        values = []
        for r in rules:
            params[f"et{r.order}"] = r.activity_type
            params[f"ep{r.order}"] = r.points
            params[f"ec{r.order}"] = r.max_per_30_days
            params[f"el{r.order}"] = r.label
            values.append(
                f"(%(et{r.order})s::text, %(ep{r.order})s::int, %(ec{r.order})s::int, {r.order}, "
                f"%(el{r.order})s::text)"
            )
        engagement_table = "(VALUES " + ", ".join(values) + ")"
    else:
        engagement_table = "(SELECT NULL::text, 0, 0, 0, NULL::text WHERE false)"
    lead, activity = Lead._meta.db_table, Activity._meta.db_table
    persona = Lead._meta.get_field("persona").related_model._meta.db_table
    campaign = Lead._meta.get_field("campaign").related_model._meta.db_table
    history = ScoreChange._meta.db_table
    match_columns = "".join(f", {m}" for m in matches)
    text_fields = sorted({r.field.name for r in model.fit_rules if r.field.kind == TEXT})
    folded_columns = "".join(f", {_sql_lower(FIT_FIELDS[name].sql)} AS v_{name}" for name in text_fields)
    sql = f"""
WITH rules(type, points, cap, ord, label) AS {engagement_table},
fit_matches AS (
    SELECT l.id, l.score AS old_score, l.grade AS old_grade, l.scored_at AS old_scored_at{match_columns}
    FROM (
        SELECT l.id, l.score, l.grade, l.scored_at, l.email, l.is_decision_maker, l.company_size,
               l.consent{folded_columns}
        FROM {lead} l
        LEFT JOIN {persona} p ON p.id = l.persona_id
        LEFT JOIN {campaign} c ON c.id = l.campaign_id
        WHERE {lead_filter}
        OFFSET 0  -- keeps the folded columns computed once per lead
    ) AS l
),
fit AS (
    SELECT id, old_score, old_grade, old_scored_at,
           ({" + ".join(fit_terms)})::int AS fit,
           {" || ".join(line_terms)} AS lines
    FROM fit_matches
),
aged AS (
    SELECT a.lead_id, a.type, a.occurred_at, a.id,
           extract(epoch FROM (%(now)s - a.occurred_at))::float8 / 86400.0::float8 AS age
    FROM {activity} a
    WHERE {activity_filter} AND a.occurred_at <= %(now)s AND a.type = ANY(%(types)s)
),
ranked AS (
    -- Narrow rows through the big sort; the rule's points, cap and label are joined after it.
    SELECT lead_id, type, age,
           row_number() OVER (PARTITION BY lead_id, type, floor(age / {BUCKET_DAYS}::float8)
                              ORDER BY occurred_at DESC, id DESC) AS rn
    FROM aged
),
per_type AS (
    SELECT r.lead_id, e.ord, e.label, count(*) AS n,
           sum(floor(e.points::float8
                     * power(0.5::float8, least(r.age / %(half_life)s::float8, {MAX_HALVINGS}::float8))
                     * 1000000.0::float8 + 0.5::float8)::bigint)::bigint AS micro
    FROM ranked r
    JOIN rules e ON e.type = r.type
    WHERE r.rn <= e.cap
    GROUP BY r.lead_id, e.ord, e.label  -- one rule per type: the same groups as (lead, type)
),
shares AS (
    SELECT lead_id, ord, label, n, micro / {MICRO} AS base,
           div(sum(micro) OVER per_lead + {MICRO // 2}, {MICRO}) AS total,
           sum(micro / {MICRO}) OVER per_lead AS base_total,
           row_number() OVER (PARTITION BY lead_id ORDER BY mod(micro, {MICRO}) DESC, ord) AS remainder_rank
    FROM per_type
    WINDOW per_lead AS (PARTITION BY lead_id)
),
engagement AS (
    SELECT lead_id, max(total)::int AS engagement,
           jsonb_agg(jsonb_build_object(
               'rule', label || %(times)s || n,
               'points', base + CASE WHEN remainder_rank <= total - base_total THEN 1 ELSE 0 END
           ) ORDER BY ord) AS lines
    FROM shares
    GROUP BY lead_id
),
scored AS (
    SELECT f.id, f.old_score, f.old_grade, f.old_scored_at, f.fit,
           coalesce(e.engagement, 0) AS engagement,
           f.fit + coalesce(e.engagement, 0) AS score,
           CASE WHEN f.fit >= %(band_a)s THEN 'A' WHEN f.fit >= %(band_b)s THEN 'B'
                WHEN f.fit >= %(band_c)s THEN 'C' ELSE 'D' END AS grade,
           f.lines || coalesce(e.lines, '[]'::jsonb) AS breakdown
    FROM fit f
    LEFT JOIN engagement e ON e.lead_id = f.id
),
history AS (
    INSERT INTO {history} (lead_id, at, model_version, score, grade, previous_score, previous_grade, reason)
    SELECT id, %(now)s, %(version)s, score, grade,
           CASE WHEN old_scored_at IS NULL THEN NULL ELSE old_score END,
           CASE WHEN old_scored_at IS NULL THEN '' ELSE old_grade END,
           %(reason)s
    FROM scored
    WHERE old_scored_at IS NULL OR score <> old_score OR grade <> old_grade
)
UPDATE {lead} l
SET score = s.score, fit_score = s.fit, engagement_score = s.engagement, grade = s.grade,
    score_breakdown = s.breakdown, scored_at = %(now)s, scoring_version = %(version)s
FROM scored s
WHERE l.id = s.id AND {lead_filter}  -- the filter again: reach the range's rows by index, not a table scan
RETURNING l.id
"""
    return sql, params


def score_leads_sql(
    *,
    model: CompiledModel,
    now: datetime,
    reason: str,
    lo: int | None = None,
    hi: int | None = None,
    lead_ids: Sequence[int] | None = None,
) -> list[int]:
    """Score an id range (or a list of ids) in one statement. PostgreSQL only; call inside a transaction."""
    sql, params = scoring_sql(model, by="ids" if lead_ids is not None else "range")
    params.update(now=now, reason=reason)
    if lead_ids is not None:
        params["ids"] = list(lead_ids)
    else:
        params.update(lo=lo, hi=hi)
    with connection.cursor() as cursor:
        # A batch sorts a few hundred thousand activities; keep that in memory rather than on disk.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        # Compiling the statement's expressions costs about 0.1 s per range and saves less than that.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


# --- Full runs and the sweep ------------------------------------------------------------------------------


def _score_range(*, lo: int, hi: int, now: datetime, reason: str, postgres: bool) -> int:
    """Score the leads with ids in ``[lo, hi]`` in one transaction; returns how many."""
    with transaction.atomic():
        current = active_scoring_model()
        if current is None:
            return 0
        compiled = compile_model(current)
        if postgres:
            scored = score_leads_sql(model=compiled, now=now, reason=reason, lo=lo, hi=hi)
            leads_scored.send(sender=Lead, lead_ids=scored)
        else:
            ids = list(Lead.objects.filter(pk__gte=lo, pk__lte=hi).values_list("pk", flat=True))
            scored = _score_chunk(compiled, ids, now=now, reason=reason) if ids else []
    return len(scored)


def _in_own_connection(**kwargs: Any) -> int:
    try:
        return _score_range(**kwargs)
    finally:
        connection.close()


def rescore_all(
    *, reason: str, now: datetime | None = None, id_span: int | None = None, workers: int | None = None
) -> ScoringRun | None:
    """Rescore every lead with the active model, in id ranges, one transaction each.

    Progress (leads done / total) is logged and kept on a ``ScoringRun`` row that the scoring page shows.
    The active model is read again for every range, so a model activated mid-run takes over at once.
    On PostgreSQL each range is one SQL statement, and ``workers`` ranges (``SCORING_FULL_RUN_WORKERS``,
    default 2: one per core) run at once on their own connections; the ranges are disjoint, so they never
    wait for each other. Elsewhere, or inside a transaction (tests), ranges run one after another.
    """
    model = active_scoring_model()
    if model is None:
        return None
    now = now or timezone.now()
    postgres = connection.vendor == "postgresql"
    span = id_span or (FULL_RUN_ID_SPAN if postgres else CHUNK)
    if workers is None:
        workers = getattr(settings, "SCORING_FULL_RUN_WORKERS", 2)
    if not postgres or connection.in_atomic_block:
        workers = 1  # other connections could not see this transaction's rows
    bounds = Lead.objects.aggregate(lo=Min("id"), hi=Max("id"), total=Count("id"))
    run = ScoringRun.objects.create(
        model_version=model.version, reason=reason, total=bounds["total"], started_at=now, updated_at=now
    )
    logger.info("full rescore %s with model v%s: %s leads", run.pk, model.version, run.total)
    ranges = []
    if bounds["lo"] is not None:
        ranges = [(lo, lo + span - 1) for lo in range(bounds["lo"], bounds["hi"] + 1, span)]
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        ScoringRun.objects.filter(pk=run.pk).update(done=done, updated_at=timezone.now())
        if count:
            logger.info("full rescore %s: %s / %s leads", run.pk, done, run.total)

    try:
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rescore") as pool:
                futures = [
                    pool.submit(_in_own_connection, lo=lo, hi=hi, now=now, reason=reason, postgres=postgres)
                    for lo, hi in ranges
                ]
                for future in as_completed(futures):
                    progress(future.result())
        else:
            for lo, hi in ranges:
                progress(_score_range(lo=lo, hi=hi, now=now, reason=reason, postgres=postgres))
    except BaseException as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=ScoringRunStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    finished = timezone.now()
    ScoringRun.objects.filter(pk=run.pk).update(
        status=ScoringRunStatus.DONE, done=done, updated_at=finished, finished_at=finished
    )
    run.refresh_from_db()
    logger.info("full rescore %s done: %s leads in %.1f s", run.pk, done, (finished - now).total_seconds())
    return run


SWEEP_ACTIVITY_WINDOW_DAYS = 3


def stale_lead_ids(*, limit: int, now: datetime | None = None) -> list[int]:
    """Leads whose score is missing or older than their last change or their last recorded activity.

    Also leads scored by another model version than the active one, unless a full run is under way
    (which will reach them). Activities are looked at for the last few days only: anything older has
    been through a nightly full rescore since.
    """
    now = now or timezone.now()
    model = active_scoring_model()
    if model is None:
        return []
    stale = Q(scored_at=None) | Q(scored_at__lt=F("updated_at"))
    running = ScoringRun.objects.filter(
        status=ScoringRunStatus.RUNNING, updated_at__gte=now - timedelta(minutes=15)
    ).exists()
    if not running:
        stale |= ~Q(scoring_version=model.version)
    ids = set(Lead.objects.filter(stale).order_by().values_list("pk", flat=True)[:limit])
    if len(ids) < limit:
        recent = Activity.objects.filter(
            created_at__gte=now - timedelta(days=SWEEP_ACTIVITY_WINDOW_DAYS),
            created_at__gt=F("lead__scored_at"),
        )
        ids.update(recent.order_by().values_list("lead_id", flat=True).distinct()[: limit - len(ids)])
    return sorted(ids)[:limit]


def sweep_stale_scores(*, limit: int = 20_000, now: datetime | None = None) -> int:
    """Rescore leads a lost message left stale; returns how many."""
    ids = stale_lead_ids(limit=limit, now=now)
    if ids:
        logger.info("scoring sweep: %s stale leads", len(ids))
    return len(score_leads(lead_ids=ids, now=now, reason="sweep"))
