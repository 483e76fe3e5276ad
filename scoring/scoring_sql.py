"""The full rescore's hand-written SQL: one statement scores a range of leads on PostgreSQL.

The statement computes fit, decayed and capped engagement, grade and breakdown for every lead of an id range,
writes a ``ScoreChange`` row where the score or grade changed, and updates the leads whose numbers changed
(only those: a nightly run over a million leads rewrites the few that decayed or moved), in one round trip.
It gives exactly the numbers of the Python path (``scoring.scoring.evaluate``); ``scoring.rules`` says how.
Statement text, the one PostgreSQL/SQLite switch (``set_based_scoring``) and table names from ``_meta`` live
here; ``scoring.rescore`` calls it and reads like the business rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Field

from leads.models import Activity, Campaign, Lead, Persona
from scoring.models import ScoreChange
from scoring.rules import (
    BOOL,
    BUCKET_DAYS,
    DERIVED_FIT_FIELDS,
    FIT_FIELDS,
    FREE_MAIL_DOMAINS,
    MAX_HALVINGS,
    MICRO,
    NUMBER,
    TEXT,
    TIMES,
    CompiledModel,
    FitRule,
)


def set_based_scoring() -> bool:
    """Whether a range of leads is scored by one statement here (PostgreSQL); elsewhere (SQLite) the full run
    scores each range with the Python path, one chunk at a time."""
    return connection.vendor == "postgresql"


def _lower(expression: str) -> str:
    # TRICKY: under the "C" collation PostgreSQL's lower() folds ASCII letters only, like rules.ascii_lower().
    return f'lower(({expression}) COLLATE "C")'


_DOMAIN = "reverse(split_part(reverse(l.email), '@', 1))"


def _field_sql(name: str) -> str:
    """How the statement reads a fit field of lead ``l`` (joined with persona ``p`` and campaign ``c``)."""
    if name == "persona":
        return "coalesce(p.slug, '')"
    if name == "campaign":
        return "coalesce(c.slug, '')"
    if name == "email_domain":
        return _DOMAIN
    if name == "free_mail":
        return f"({_lower(_DOMAIN)} = ANY(%(free_mail_domains)s))"
    return f"l.{cast(Field, Lead._meta.get_field(name)).column}"


def _condition(rule: FitRule, params: dict[str, Any]) -> str:
    """The rule as a boolean SQL expression over the inner query's columns; adds its value to ``params``."""
    name = f"fit{rule.index}"
    kind = rule.field.kind
    if kind == BOOL:
        return f"({_field_sql(rule.field.name)}) IS TRUE"
    # Text fields are folded once per lead in the statement's inner query (``v_<field>``).
    expression = _field_sql(rule.field.name) if kind == NUMBER else f"l.v_{rule.field.name}"
    params[name] = list(rule.value) if rule.operator == "in" else rule.value
    if rule.operator == "contains":
        return f"strpos({expression}, %({name})s) > 0"
    sql_operator = {"eq": "=", "gte": ">=", "lte": "<="}.get(rule.operator)
    if sql_operator is None:
        return f"({expression} = ANY(%({name})s)) IS TRUE"
    return f"({expression} {sql_operator} %({name})s) IS TRUE"


def _scored_ctes(model: CompiledModel, *, by: str) -> tuple[str, str, dict[str, Any]]:
    """The ``WITH`` clause computing every lead's new score (the CTE ``scored``, with a ``changed`` flag),
    the filter on the leads, and the parameters; shared by the scoring statement and its measurement."""
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
    matches, fit_terms, line_terms = [], ["0"], []
    for rule in model.fit_rules:
        i = rule.index
        matches.append(f"{_condition(rule, params)} AS m{i}")
        params[f"points{i}"] = rule.points
        params[f"line{i}"] = json.dumps({"rule": rule.label, "points": rule.points})
        fit_terms.append(f"CASE WHEN m{i} THEN %(points{i})s ELSE 0 END")
        line_terms.append(f"CASE WHEN m{i} THEN %(line{i})s::jsonb END")
    # The matched rules' lines in one array, built once per lead (not a new jsonb per rule).
    fit_lines = (
        f"to_jsonb(array_remove(ARRAY[{', '.join(line_terms)}]::jsonb[], NULL))"
        if line_terms
        else "'[]'::jsonb"
    )
    # An engagement rule is its position in ``engagement_in_order``, counted from 1 as SQL arrays are
    # (``array_position`` of the activity's type): the big sort, the cap and the grouping compare small
    # integers, and no table of rules is joined.
    rules = model.engagement_in_order
    params["types"] = [r.activity_type for r in rules]
    params["rule_points"] = [r.points for r in rules]
    params["rule_caps"] = [r.max_per_30_days for r in rules]
    params["rule_labels"] = [r.label for r in rules]
    lead, activity = Lead._meta.db_table, Activity._meta.db_table
    persona, campaign = Persona._meta.db_table, Campaign._meta.db_table
    match_columns = "".join(f", {m}" for m in matches)
    # Number and yes/no fields are read as they are; text fields the rules test are folded once per lead.
    raw_columns = "".join(
        f", {_field_sql(f.name)}"
        for f in FIT_FIELDS.values()
        if f.kind != TEXT and f.name not in DERIVED_FIT_FIELDS
    )
    text_fields = sorted({r.field.name for r in model.fit_rules if r.field.kind == TEXT})
    folded_columns = "".join(f", {_lower(_field_sql(name))} AS v_{name}" for name in text_fields)
    ctes = f"""
WITH fit_matches AS (
    SELECT l.id, l.score AS old_score, l.grade AS old_grade, l.scored_at AS old_scored_at,
           l.fit_score AS old_fit, l.engagement_score AS old_engagement,
           l.score_breakdown AS old_breakdown{match_columns}
    FROM (
        SELECT l.id, l.score, l.grade, l.scored_at, l.fit_score, l.engagement_score, l.score_breakdown,
               l.email{raw_columns}{folded_columns}
        FROM {lead} l
        LEFT JOIN {persona} p ON p.id = l.persona_id
        LEFT JOIN {campaign} c ON c.id = l.campaign_id
        WHERE {lead_filter}
        OFFSET 0  -- keeps the folded columns computed once per lead
    ) AS l
    OFFSET 0  -- and each rule's match: the fit and the lines read them
),
fit AS (
    SELECT id, old_score, old_grade, old_scored_at, old_fit, old_engagement, old_breakdown,
           ({" + ".join(fit_terms)})::int AS fit,
           {fit_lines} AS lines
    FROM fit_matches
    OFFSET 0  -- the fit once per lead: the score, the grade and the change check read it
),
aged AS (
    -- Reads only what activity_lead_recent_idx holds (lead, time, id, type): an index-only scan.
    SELECT a.lead_id, array_position(%(types)s::text[], a.type::text) AS rule, a.occurred_at, a.id,
           extract(epoch FROM (%(now)s - a.occurred_at))::float8 / 86400.0::float8 AS age
    FROM {activity} a
    WHERE {activity_filter} AND a.occurred_at <= %(now)s AND a.type = ANY(%(types)s)
),
ranked AS (
    SELECT lead_id, rule, age,
           row_number() OVER (PARTITION BY lead_id, rule, floor(age / {BUCKET_DAYS}::float8)
                              ORDER BY occurred_at DESC, id DESC) AS rn
    FROM aged
),
per_rule AS (
    SELECT lead_id, rule, count(*) AS n,
           sum(floor((%(rule_points)s::int[])[rule]::float8
                     * power(0.5::float8, least(age / %(half_life)s::float8, {MAX_HALVINGS}::float8))
                     * {float(MICRO)}::float8 + 0.5::float8)::bigint)::bigint AS micro
    FROM ranked
    WHERE rn <= (%(rule_caps)s::int[])[rule]
    GROUP BY lead_id, rule  -- one rule per type: the same groups as (lead, type)
),
shares AS (
    SELECT lead_id, rule, n, micro / {MICRO} AS base,
           div(sum(micro) OVER per_lead + {MICRO // 2}, {MICRO}) AS total,
           sum(micro / {MICRO}) OVER per_lead AS base_total,
           row_number() OVER per_lead AS remainder_rank
    FROM per_rule
    -- One window for the lead's totals and the remainders' ranking: one pass over the sorted lines.
    WINDOW per_lead AS (PARTITION BY lead_id ORDER BY mod(micro, {MICRO}) DESC, rule
                        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
engagement AS (
    SELECT lead_id, max(total)::int AS engagement,
           jsonb_agg(jsonb_build_object(
               'rule', (%(rule_labels)s::text[])[rule] || %(times)s || n,
               'points', base + CASE WHEN remainder_rank <= total - base_total THEN 1 ELSE 0 END
           ) ORDER BY rule) AS lines
    FROM shares
    GROUP BY lead_id
),
new_scores AS (
    SELECT f.id, f.old_score, f.old_grade, f.old_scored_at, f.old_fit, f.old_engagement, f.old_breakdown,
           f.fit,
           coalesce(e.engagement, 0) AS engagement,
           f.fit + coalesce(e.engagement, 0) AS score,
           CASE WHEN f.fit >= %(band_a)s THEN 'A' WHEN f.fit >= %(band_b)s THEN 'B'
                WHEN f.fit >= %(band_c)s THEN 'C' ELSE 'D' END AS grade,
           f.lines || coalesce(e.lines, '[]'::jsonb) AS breakdown
    FROM fit f
    LEFT JOIN engagement e ON e.lead_id = f.id
),
scored AS (
    SELECT s.*,
           (old_scored_at IS NULL OR score <> old_score OR grade <> old_grade OR fit <> old_fit
            OR engagement <> old_engagement OR breakdown <> old_breakdown) AS changed
    FROM new_scores s
)"""
    return ctes, lead_filter, params


def scoring_statement(model: CompiledModel, *, by: str) -> tuple[str, dict[str, Any]]:
    """One statement that scores a set of leads, records changes and writes the scores that changed.

    ``by="range"`` takes ``%(lo)s``/``%(hi)s`` (lead ids, inclusive); ``by="ids"`` takes ``%(ids)s``.
    It also takes ``%(now)s`` and ``%(reason)s``, and returns one row: how many leads it scored and the
    ids of those whose score, grade or breakdown changed (the only rows it writes).
    """
    ctes, lead_filter, params = _scored_ctes(model, by=by)
    lead, history = Lead._meta.db_table, ScoreChange._meta.db_table
    sql = f"""
{ctes},
history AS (
    INSERT INTO {history} (lead_id, at, model_version, score, grade, previous_score, previous_grade, reason)
    SELECT id, %(now)s, %(version)s, score, grade,
           CASE WHEN old_scored_at IS NULL THEN NULL ELSE old_score END,
           CASE WHEN old_scored_at IS NULL THEN '' ELSE old_grade END,
           %(reason)s
    FROM scored
    WHERE old_scored_at IS NULL OR score <> old_score OR grade <> old_grade
),
written AS (
    -- Only the rows whose numbers changed: most leads keep their score from one night to the next, and a
    -- row not written costs no new row version, no index entries and no WAL.
    UPDATE {lead} l
    SET score = s.score, fit_score = s.fit, engagement_score = s.engagement, grade = s.grade,
        score_breakdown = s.breakdown, scored_at = %(now)s, scoring_version = %(version)s
    FROM scored s
    WHERE l.id = s.id AND s.changed
      AND {lead_filter}  -- the filter again: reach the range's rows by index, not a table scan
    RETURNING l.id
)
SELECT (SELECT count(*) FROM scored), coalesce((SELECT array_agg(id ORDER BY id) FROM written), '{{}}')
"""
    return sql, params


def changed_scores_statement(model: CompiledModel, *, by: str) -> tuple[str, dict[str, Any]]:
    """The computing half of ``scoring_statement`` alone: the new numbers of the leads whose score, grade or
    breakdown would change, written nowhere (``id, score, fit, engagement, grade, breakdown`` and the
    ``old_score, old_grade, old_scored_at`` a history row needs). The benchmark measures the job's limit
    with it; takes the same parameters but ``reason``."""
    ctes, _, params = _scored_ctes(model, by=by)
    sql = f"""
{ctes}
SELECT id, score, fit, engagement, grade, breakdown, old_score, old_grade, old_scored_at
FROM scored
WHERE changed
"""
    return sql, params


@dataclass(frozen=True)
class MqlBar:
    """A model's MQL bar as the impact statement tests it: a score threshold and the grades admitted."""

    threshold: int
    grades: tuple[str, ...]


@dataclass(frozen=True)
class ImpactCounts:
    """What a model would change over a set of leads against their current scores."""

    leads: int = 0
    grade_changes: int = 0
    mql_up: int = 0
    mql_down: int = 0

    def __add__(self, other: ImpactCounts) -> ImpactCounts:
        return ImpactCounts(
            leads=self.leads + other.leads,
            grade_changes=self.grade_changes + other.grade_changes,
            mql_up=self.mql_up + other.mql_up,
            mql_down=self.mql_down + other.mql_down,
        )


def impact_statement(model: CompiledModel) -> tuple[str, dict[str, Any]]:
    """The computing half of ``scoring_statement`` over an id range, counted instead of written: how many
    leads it looks at, whose grade would change, and who would cross the MQL bar up (below the current bar
    with the current score, over the new bar with the new one) or down. Takes ``%(lo)s``, ``%(hi)s``,
    ``%(now)s``, the current bar (``%(old_on)s``: whether there is one, ``%(old_threshold)s``,
    ``%(old_grades)s``) and the new one (``%(new_threshold)s``, ``%(new_grades)s``)."""
    ctes, _, params = _scored_ctes(model, by="range")
    sql = f"""
{ctes}
SELECT count(*),
       count(*) FILTER (WHERE grade <> old_grade),
       count(*) FILTER (WHERE new_meets AND NOT old_meets),
       count(*) FILTER (WHERE old_meets AND NOT new_meets)
FROM (
    SELECT grade, old_grade,
           (%(old_on)s AND old_score >= %(old_threshold)s AND old_grade = ANY(%(old_grades)s)) AS old_meets,
           (score >= %(new_threshold)s AND grade = ANY(%(new_grades)s)) AS new_meets
    FROM scored
) AS compared
"""
    return sql, params


def impact_counts_sql(
    *, model: CompiledModel, now: datetime, lo: int, hi: int, old_bar: MqlBar | None, new_bar: MqlBar
) -> ImpactCounts:
    """Count what ``model`` would change for the leads with ids in ``[lo, hi]``, writing nothing.

    PostgreSQL only (see ``set_based_scoring``); call inside a transaction.
    """
    sql, params = impact_statement(model)
    params.update(
        now=now,
        lo=lo,
        hi=hi,
        old_on=old_bar is not None,
        old_threshold=old_bar.threshold if old_bar else 0,
        old_grades=list(old_bar.grades) if old_bar else [],
        new_threshold=new_bar.threshold,
        new_grades=list(new_bar.grades),
    )
    with connection.cursor() as cursor:
        tune_for_scoring(cursor)
        cursor.execute(sql, params)
        leads, grade_changes, mql_up, mql_down = cursor.fetchone()
    return ImpactCounts(leads=leads, grade_changes=grade_changes, mql_up=mql_up, mql_down=mql_down)


@dataclass(frozen=True)
class ScoredSet:
    """What one scoring statement did: how many leads it scored, and which of them it wrote."""

    scored: int
    changed: list[int]


def tune_for_scoring(cursor: Any) -> None:
    """Session settings for a scoring statement; call inside its transaction."""
    # A batch sorts a few hundred thousand activities; keep that in memory rather than on disk.
    cursor.execute("SET LOCAL work_mem = '128MB'")
    # Compiling the statement's expressions costs about 0.1 s per range and saves less than that.
    cursor.execute("SET LOCAL jit = off")


def score_leads_sql(
    *,
    model: CompiledModel,
    now: datetime,
    reason: str,
    lo: int | None = None,
    hi: int | None = None,
    lead_ids: Sequence[int] | None = None,
) -> ScoredSet:
    """Score an id range (or a list of ids) in one statement, writing only the scores that changed.

    PostgreSQL only (see ``set_based_scoring``); call inside a transaction.
    """
    sql, params = scoring_statement(model, by="ids" if lead_ids is not None else "range")
    params.update(now=now, reason=reason)
    if lead_ids is not None:
        params["ids"] = list(lead_ids)
    else:
        params.update(lo=lo, hi=hi)
    with connection.cursor() as cursor:
        tune_for_scoring(cursor)
        cursor.execute(sql, params)
        scored, changed = cursor.fetchone()
    return ScoredSet(scored=scored, changed=list(changed))


WRITTEN_FIELDS = (
    "score",
    "fit_score",
    "engagement_score",
    "grade",
    "score_breakdown",
    "scored_at",
    "scoring_version",
)


def write_scores(*, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write the Python path's scores: one ``UPDATE … WHERE id = …`` per lead, sent as one batch.

    ``rows`` hold the ``WRITTEN_FIELDS`` values in order, then the lead id. Django's ``bulk_update`` builds a
    ``CASE WHEN`` expression per row and field, which cost far more Python time than the database's work.
    """
    if not rows:
        return
    fields = [cast(Field, Lead._meta.get_field(name)) for name in WRITTEN_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Lead._meta.db_table)} SET {assignments} WHERE id = %s"
    params = [
        [field.get_db_prep_save(value, connection) for field, value in zip(fields, row[:-1], strict=True)]
        + [row[-1]]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
