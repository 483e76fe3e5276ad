"""What a scoring model's rules mean: the lead fields a fit rule can test, and a stored model compiled.

A stored (validated) ``ScoringModel`` is compiled once into ``CompiledModel``, which both evaluators read:
the Python one in ``scoring.scoring`` and the SQL one in ``scoring.scoring_sql``. They give exactly the same
numbers (``tests/scoring/test_scoring_paths.py`` checks it). What makes "exactly" possible:

* Text comparisons fold ASCII letters only (``ascii_lower`` here, ``lower()`` under the "C" collation in
  SQL): the databases' and Python's Unicode case rules differ, ASCII folding is the same everywhere.
* Each activity's decayed points are computed in double precision by the same C ``pow`` in both places,
  then fixed as an integer number of micro-points (``MICRO``). Sums of integers do not depend on the order
  of addition, so the per-lead totals agree to the last digit whatever order the database adds rows in.
* The score is rounded once, at the end (half up); breakdown lines share the rounding by the largest
  remainder method, so they always sum to the score.

Decay: an activity counts ``points * 0.5^(age_days / half_life)``. Ages are cut into 30-day buckets
(``BUCKET_DAYS``) counted back from ``now``; in each bucket only the ``max_per_30_days`` most recent
activities of a type count. Activities later than ``now`` are not counted (they are scored by their own
rescore).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leads.models import ActivityType
from scoring.models import ScoringModel

MICRO = 1_000_000
BUCKET_DAYS = 30.0
# 0.5^64 * 1,000 points is far below half a micro-point, so capping the exponent changes no result; it keeps
# PostgreSQL's power() from raising an underflow error for very old activities.
MAX_HALVINGS = 64.0
TIMES = "\u00d7"  # the multiplication sign in "Demo requested x2"

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

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def email_domain(email: str) -> str:
    """The part after the last ``@`` (stored e-mail addresses always have one)."""
    return email.rpartition("@")[2]


TEXT, NUMBER, BOOL = "text", "number", "bool"


@dataclass(frozen=True)
class FitField:
    """A lead attribute a fit rule can test: its kind and a human name."""

    name: str
    kind: str
    label: str


FIT_FIELDS: dict[str, FitField] = {
    f.name: f
    for f in (
        FitField("seniority", TEXT, "Seniority"),
        FitField("is_decision_maker", BOOL, "Decision-maker"),
        FitField("job_title", TEXT, "Job title"),
        FitField("company", TEXT, "Company"),
        FitField("company_size", NUMBER, "Company size"),
        FitField("industry", TEXT, "Industry"),
        FitField("country", TEXT, "Country"),
        FitField("persona", TEXT, "Persona"),
        FitField("campaign", TEXT, "Campaign"),
        FitField("source", TEXT, "Source"),
        FitField("utm_source", TEXT, "UTM source"),
        FitField("utm_medium", TEXT, "UTM medium"),
        FitField("utm_campaign", TEXT, "UTM campaign"),
        FitField("email_domain", TEXT, "E-mail domain"),
        FitField("free_mail", BOOL, "Free-mail address"),
        FitField("consent", BOOL, "Consent"),
    )
}
# Fit fields that are not a column of the lead: read through a relation or derived from the e-mail address.
DERIVED_FIT_FIELDS = frozenset({"persona", "campaign", "email_domain", "free_mail"})
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

# What the Python path reads of a lead (``persona__slug`` and ``campaign__slug`` become the slugs).
LEAD_VALUES = (
    "id",
    "email",
    *(name for name in FIT_FIELDS if name not in DERIVED_FIT_FIELDS),
    "persona__slug",
    "campaign__slug",
    "score",
    "grade",
    "scored_at",
)


def lead_facts(row: dict[str, Any]) -> dict[str, Any]:
    """The values fit rules test, from a row of ``Lead.objects.values(*LEAD_VALUES)``."""
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

    @property
    def engagement_in_order(self) -> list[EngagementRule]:
        return sorted(self.engagement_rules.values(), key=lambda rule: rule.order)


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
