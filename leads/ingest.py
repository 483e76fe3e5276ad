"""Lead ingestion: validate, normalise and upsert by e-mail, set-based, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.errors import ValidationProblem
from leads.models import Campaign, Lead, Persona
from leads.pipeline import record_new_leads
from leads.schemas import validate_lead
from leads.signals import leads_changed

MAX_BATCH = 1000

# Columns a client writes, in the order the upsert statement lists them.
WRITABLE_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "seniority",
    "is_decision_maker",
    "company_size",
    "industry",
    "country",
    "phone",
    "persona_id",
    "campaign_id",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "external_id",
    "consent",
    "attributes",
)
_JSON_COLUMNS = frozenset({"attributes", "score_breakdown"})
# Defaults for a new lead's columns that the client does not send (the funnel and scoring own them).
_NEW_LEAD_DEFAULTS: dict[str, Any] = {
    "first_name": "",
    "last_name": "",
    "company": "",
    "job_title": "",
    "seniority": "",
    "is_decision_maker": None,
    "company_size": None,
    "industry": "",
    "country": "",
    "phone": "",
    "persona_id": None,
    "campaign_id": None,
    "source": "",
    "utm_source": "",
    "utm_medium": "",
    "utm_campaign": "",
    "external_id": "",
    "consent": None,
    "attributes": {},
    "score": 0,
    "fit_score": 0,
    "engagement_score": 0,
    "grade": "D",
    "score_breakdown": [],
    "scored_at": None,
    "stage": "inquiry",
    "owner_id": None,
    "sla_due_at": None,
}
_ALL_COLUMNS = ("email", *_NEW_LEAD_DEFAULTS, "created_at", "updated_at")
# SQLite caps the bound parameters of one statement; stay under it.
_MAX_PARAMS = 30_000


@dataclass
class ItemResult:
    index: int
    status: str  # "created", "updated" or "error"
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "id": self.id, "errors": self.errors}


@dataclass
class IngestResult:
    results: list[ItemResult]

    @property
    def created(self) -> int:
        return sum(1 for r in self.results if r.status == "created")

    @property
    def updated(self) -> int:
        return sum(1 for r in self.results if r.status == "updated")

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.status == "error")

    @property
    def lead_ids(self) -> list[int]:
        return sorted({r.id for r in self.results if r.id is not None})


def validate_leads(items: Sequence[Any]) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, list[str]]]]:
    """Validate every item and resolve persona and campaign slugs (one query each for the whole batch)."""
    valid: dict[int, dict[str, Any]] = {}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        cleaned, item_errors = validate_lead(item)
        if cleaned is None:
            errors[index] = item_errors
        else:
            valid[index] = cleaned
    _resolve_slugs(valid, errors)
    return valid, errors


def _resolve_slugs(valid: dict[int, dict[str, Any]], errors: dict[int, dict[str, list[str]]]) -> None:
    for name, model in (("persona", Persona), ("campaign", Campaign)):
        slugs = {row[name] for row in valid.values() if row.get(name)}
        known = dict(model.objects.filter(slug__in=slugs).values_list("slug", "id")) if slugs else {}
        for index in list(valid):
            row = valid[index]
            if name not in row:
                continue
            slug = row.pop(name)
            if slug and slug not in known:
                errors[index] = {name: [f"Unknown {name} '{slug}'."]}
                del valid[index]
            else:
                row[f"{name}_id"] = known.get(slug) if slug else None


def upsert_leads(*, items: Sequence[Any]) -> IngestResult:
    """Upsert leads by e-mail: bad items are reported, good ones stored, in one transaction.

    The same e-mail twice in one call is one lead: the later item's fields win, fields absent stay.
    """
    valid, errors = validate_leads(items)
    results = {index: ItemResult(index=index, status="error", errors=errs) for index, errs in errors.items()}
    merged: dict[str, dict[str, Any]] = {}
    first_index: dict[str, int] = {}
    for index, row in valid.items():
        email = row["email"]
        if email in merged:
            merged[email].update(row)
        else:
            merged[email] = dict(row)
            first_index[email] = index
    with transaction.atomic():
        outcome = _upsert(merged.values())
        seen: set[str] = set()
        for index, row in valid.items():
            lead_id, created = outcome[row["email"]]
            is_first = row["email"] not in seen
            seen.add(row["email"])
            status = "created" if created and is_first else "updated"
            results[index] = ItemResult(index=index, status=status, id=lead_id)
        created_ids = sorted({lead_id for lead_id, created in outcome.values() if created})
        updated_ids = sorted({lead_id for lead_id, created in outcome.values() if not created})
        if outcome:
            record_new_leads(lead_ids=created_ids)
            leads_changed.send(sender=Lead, lead_ids=[*created_ids, *updated_ids])
    return IngestResult(results=[results[i] for i in range(len(items))])


def _upsert(rows: Iterable[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    """One ``INSERT … ON CONFLICT (lower(email)) DO UPDATE`` per set of fields sent.

    Only the fields a client sent are updated on an existing lead. Returns ``{email: (id, created)}``.
    Call inside a transaction.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["email"]):  # a fixed order keeps concurrent batches deadlock-free
        groups.setdefault(tuple(sorted(row)), []).append(row)
    outcome: dict[str, tuple[int, bool]] = {}
    for sent, group in groups.items():
        if connection.vendor == "postgresql":
            outcome.update(_upsert_group_postgres(sent, group))
        else:
            chunk = max(1, _MAX_PARAMS // len(_ALL_COLUMNS))
            for start in range(0, len(group), chunk):
                outcome.update(_upsert_group_sqlite(sent, group[start : start + chunk]))
    return outcome


def _conflict_clause(sent: tuple[str, ...]) -> str:
    updates = [c for c in sent if c != "email"] + ["updated_at"]
    return " ON CONFLICT (lower(email)) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in updates)


# PostgreSQL array types of the columns a client writes, for ``unnest``.
_PG_ARRAY_TYPES = {
    "is_decision_maker": "boolean[]",
    "consent": "boolean[]",
    "company_size": "integer[]",
    "persona_id": "bigint[]",
    "campaign_id": "bigint[]",
}


def _upsert_group_postgres(sent: tuple[str, ...], rows: list[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    """All rows in one statement: one array parameter per column, unnested into rows by PostgreSQL.

    ``xmax = 0`` on the returned row tells an insert from an update, exactly, even under concurrency.
    """
    columns: dict[str, list[Any]] = {column: [] for column in WRITABLE_COLUMNS}
    for row in rows:
        for column, values in columns.items():
            value = row.get(column, _NEW_LEAD_DEFAULTS.get(column))
            values.append(json.dumps(value) if column in _JSON_COLUMNS else value)
    unnest = ", ".join(f"%s::{_PG_ARRAY_TYPES.get(c, 'text[]')}" for c in WRITABLE_COLUMNS)
    selected = ", ".join(f"u.{c}::jsonb" if c in _JSON_COLUMNS else f"u.{c}" for c in WRITABLE_COLUMNS)
    fixed = [c for c in _ALL_COLUMNS if c not in WRITABLE_COLUMNS]
    fixed_values = ", ".join(["%s::jsonb" if c in _JSON_COLUMNS else "%s" for c in fixed])
    now = timezone.now()
    fixed_params = [
        now
        if c in ("created_at", "updated_at")
        else json.dumps(_NEW_LEAD_DEFAULTS[c])
        if c in _JSON_COLUMNS
        else _NEW_LEAD_DEFAULTS[c]
        for c in fixed
    ]
    sql = (
        f"INSERT INTO {Lead._meta.db_table} ({', '.join(WRITABLE_COLUMNS)}, {', '.join(fixed)}) "
        f"SELECT {selected}, {fixed_values} FROM unnest({unnest}) AS u({', '.join(WRITABLE_COLUMNS)})"
        + _conflict_clause(sent)
        + " RETURNING id, email, (xmax = 0)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*fixed_params, *columns.values()])
        return {email: (lead_id, bool(inserted)) for lead_id, email, inserted in cursor.fetchall()}


def _upsert_group_sqlite(sent: tuple[str, ...], rows: list[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    placeholders = ", ".join(["%s"] * len(_ALL_COLUMNS))
    params: list[Any] = []
    for row in rows:
        for column in _ALL_COLUMNS:
            value = (
                now
                if column in ("created_at", "updated_at")
                else row.get(column, _NEW_LEAD_DEFAULTS.get(column))
            )
            params.append(json.dumps(value) if column in _JSON_COLUMNS else value)
    table = Lead._meta.db_table
    emails = [row["email"] for row in rows]
    with connection.cursor() as cursor:
        # SQLite has no xmax; its IMMEDIATE transactions serialise writers, so a look-up first is exact.
        cursor.execute(
            f"SELECT email FROM {table} WHERE lower(email) IN ({', '.join(['%s'] * len(emails))})", emails
        )
        existing = {email for (email,) in cursor.fetchall()}
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_ALL_COLUMNS)}) VALUES "
            + ", ".join(f"({placeholders})" for _ in rows)
            + _conflict_clause(sent)
            + " RETURNING id, email",
            params,
        )
        return {email: (lead_id, email not in existing) for lead_id, email in cursor.fetchall()}


def update_lead(*, lead: Lead, fields: dict[str, Any]) -> Lead:
    """Apply validated fields (as ``validate_lead(partial=True)`` returns them) to one lead.

    Raises ``ValidationProblem`` for an unknown persona or campaign, or an e-mail another lead has.
    """
    changes = dict(fields)
    for name, model in (("persona", Persona), ("campaign", Campaign)):
        if name in changes:
            slug = changes.pop(name)
            if slug:
                found = model.objects.filter(slug=slug).values_list("id", flat=True).first()
                if found is None:
                    raise ValidationProblem({name: [f"Unknown {name} '{slug}'."]})
                changes[f"{name}_id"] = found
            else:
                changes[f"{name}_id"] = None
    with transaction.atomic():
        if (
            "email" in changes
            and Lead.objects.filter(email__iexact=changes["email"]).exclude(pk=lead.pk).exists()
        ):
            raise ValidationProblem({"email": ["Another lead already has this e-mail address."]})
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.updated_at = timezone.now()
        lead.save(update_fields=[*changes, "updated_at"])
        leads_changed.send(sender=Lead, lead_ids=[lead.pk])
    return lead
