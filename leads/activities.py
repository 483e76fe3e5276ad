"""Activity ingestion: validate, resolve the lead (by id or e-mail) and store, set-based, in one transaction.

An activity sent again with the same ``external_id`` is stored once: the later copy overwrites its type,
time and metadata and the item answers ``updated``. Every batch queues one rescore of its leads on commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from leads.ingest import IngestResult, ItemResult
from leads.models import Activity, ActivityType, Lead
from leads.schemas import _messages, _no_control_characters, limited_json_object
from leads.signals import leads_changed

MAX_BATCH = 1000
# A client clock slightly ahead of ours is not "the future": up to this much ahead is stored as now.
CLOCK_SKEW = timedelta(seconds=60)


def _email(value: str) -> str:
    return value.strip().lower()


_Email = Annotated[
    str, StringConstraints(max_length=254), AfterValidator(_no_control_characters), AfterValidator(_email)
]


class ActivityIn(BaseModel):
    """One activity: ``lead`` (id) or ``email``, ``type``, and optionally the rest."""

    model_config = ConfigDict(extra="forbid")

    lead: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)] | None = None
    email: _Email | None = None
    type: ActivityType
    occurred_at: AwareDatetime | None = None
    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_no_control_characters)
    ] = ""
    metadata: Annotated[dict[str, Any], AfterValidator(limited_json_object)] = Field(default_factory=dict)


def validate_activity(data: Any, *, now: datetime) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Expected a JSON object."]}
    try:
        item = ActivityIn.model_validate(data)
    except PydanticValidationError as exc:
        return None, _messages(exc)
    if item.lead is None and not item.email:
        return None, {"lead": ["Give the lead's id (lead) or its e-mail address (email)."]}
    occurred_at = item.occurred_at or now
    if occurred_at > now + CLOCK_SKEW:
        return None, {"occurred_at": ["Must not be in the future."]}
    return {
        "lead": item.lead,
        "email": item.email or None,
        "type": item.type.value,
        "occurred_at": min(occurred_at, now),
        "external_id": item.external_id,
        "metadata": item.metadata,
    }, {}


def _resolve_leads(valid: dict[int, dict[str, Any]], errors: dict[int, dict[str, list[str]]]) -> None:
    """Set ``lead_id`` on every valid item (one query for ids, one for e-mails), or move it to errors."""
    ids = {row["lead"] for row in valid.values() if row["lead"] is not None}
    emails = {row["email"] for row in valid.values() if row["email"]}
    known_ids = set(Lead.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    by_email: dict[str, int] = {}
    if emails:
        by_email = dict(
            Lead.objects.annotate(lower_email=Lower("email"))
            .filter(lower_email__in=emails)
            .values_list("lower_email", "pk")
        )
    for index in list(valid):
        row = valid[index]
        lead_id = None
        if row["lead"] is not None:
            if row["lead"] not in known_ids:
                errors[index] = {"lead": ["No lead has this id."]}
                del valid[index]
                continue
            lead_id = row["lead"]
        if row["email"]:
            found = by_email.get(row["email"])
            if found is None:
                errors[index] = {"email": ["No lead has this e-mail address."]}
                del valid[index]
                continue
            if lead_id is not None and lead_id != found:
                errors[index] = {"email": ["This e-mail address belongs to another lead than lead."]}
                del valid[index]
                continue
            lead_id = found
        row["lead_id"] = lead_id


def record_activities(*, items: Sequence[Any]) -> IngestResult:
    """Store activities: bad items are reported, good ones stored, in one transaction.

    The same ``external_id`` twice in one call is one activity: the later item wins.
    """
    now = timezone.now()
    valid: dict[int, dict[str, Any]] = {}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        cleaned, item_errors = validate_activity(item, now=now)
        if cleaned is None:
            errors[index] = item_errors
        else:
            valid[index] = cleaned
    _resolve_leads(valid, errors)
    results = {index: ItemResult(index=index, status="error", errors=errs) for index, errs in errors.items()}
    keyed: dict[str, dict[str, Any]] = {}
    unkeyed: list[tuple[int, dict[str, Any]]] = []
    for index, row in valid.items():
        if row["external_id"]:
            keyed[row["external_id"]] = row  # later items win
        else:
            unkeyed.append((index, row))
    with transaction.atomic():
        stored = _insert_keyed(list(keyed.values()), now=now)
        plain_ids = _insert_unkeyed([row for _, row in unkeyed], now=now)
        for (index, _), activity_id in zip(unkeyed, plain_ids, strict=True):
            results[index] = ItemResult(index=index, status="created", id=activity_id)
        seen: set[str] = set()
        for index, row in valid.items():
            key = row["external_id"]
            if not key:
                continue
            activity_id, created = stored[key]
            status = "created" if created and key not in seen else "updated"
            seen.add(key)
            results[index] = ItemResult(index=index, status=status, id=activity_id)
        lead_ids = sorted({row["lead_id"] for row in valid.values()})
        if lead_ids:
            leads_changed.send(sender=Activity, lead_ids=lead_ids)
    return IngestResult(results=[results[i] for i in range(len(items))])


_COLUMNS = ("lead_id", "type", "occurred_at", "external_id", "metadata", "created_at")


def _values(rows: list[dict[str, Any]], now: datetime) -> tuple[str, list[Any]]:
    postgres = connection.vendor == "postgresql"
    placeholder = "(%s, %s, %s, %s, %s::jsonb, %s)" if postgres else "(%s, %s, %s, %s, %s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = []
    for row in rows:
        params += [
            row["lead_id"],
            row["type"],
            adapt(row["occurred_at"]),
            row["external_id"],
            json.dumps(row["metadata"]),
            adapt(now),
        ]
    return ", ".join([placeholder] * len(rows)), params


def _insert_unkeyed(rows: list[dict[str, Any]], *, now: datetime) -> list[int]:
    if not rows:
        return []
    values, params = _values(rows, now)
    sql = f"INSERT INTO {Activity._meta.db_table} ({', '.join(_COLUMNS)}) VALUES {values} RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Rows come back in the order given, as Django's bulk_create also relies on.
        return [row[0] for row in cursor.fetchall()]


def _insert_keyed(rows: list[dict[str, Any]], *, now: datetime) -> dict[str, tuple[int, bool]]:
    """Upsert by ``external_id``; returns ``{external_id: (id, created)}``. Call inside a transaction."""
    if not rows:
        return {}
    # A fixed order keeps concurrent batches deadlock-free.
    rows = sorted(rows, key=lambda r: r["external_id"])
    postgres = connection.vendor == "postgresql"
    table = Activity._meta.db_table
    existing: set[str] = set()
    if not postgres:
        # SQLite has no xmax; its IMMEDIATE transactions serialise writers, so a look-up first is exact.
        keys = [row["external_id"] for row in rows]
        existing = set(Activity.objects.filter(external_id__in=keys).values_list("external_id", flat=True))
    values, params = _values(rows, now)
    # The recorded time moves with a re-sent copy, so the sweep sees that its lead needs a new score.
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {values} "
        "ON CONFLICT (external_id) WHERE NOT (external_id = '') DO UPDATE SET "
        "type = EXCLUDED.type, occurred_at = EXCLUDED.occurred_at, metadata = EXCLUDED.metadata, "
        "created_at = EXCLUDED.created_at "
        + ("RETURNING id, external_id, (xmax = 0)" if postgres else "RETURNING id, external_id")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    if postgres:
        return {key: (activity_id, bool(inserted)) for activity_id, key, inserted in returned}
    return {key: (activity_id, key not in existing) for activity_id, key in returned}
