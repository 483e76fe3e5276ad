"""Activity ingestion: validate, resolve the lead (by id or e-mail) and store, set-based, in one transaction.

An activity sent again with the same ``external_id`` is stored once: the later copy overwrites its type,
time and metadata and the item answers ``updated``. Every batch queues one rescore of its leads on commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from core.inputs import datetime_in_range
from core.text import one_line
from leads.activities_sql import insert_activities, upsert_activities
from leads.fields import LEAD_FIELDS
from leads.ingest import IngestResult, ItemResult
from leads.models import Activity, ActivityType, Lead
from leads.schemas import canonical_email, field_messages, limited_json_object
from leads.signals import leads_changed

MAX_BATCH = 1000
# A client clock slightly ahead of ours is not "the future": up to this much ahead is stored as now.
CLOCK_SKEW = timedelta(seconds=60)
# Marketing activity before this is a typo (or a forged date), not history.
EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
_EXTERNAL_ID_MAX_LENGTH = Activity._meta.get_field("external_id").max_length


_Email = Annotated[
    str,
    StringConstraints(max_length=LEAD_FIELDS["email"].max_length),
    AfterValidator(one_line),
    AfterValidator(canonical_email),
]


class ActivityIn(BaseModel):
    """One activity: ``lead`` (id) or ``email``, ``type``, and optionally the rest."""

    model_config = ConfigDict(
        extra="forbid",
        # The schema says what validate_activity checks: the lead is named by its id or its e-mail address.
        json_schema_extra={
            "anyOf": [
                {"required": ["lead"], "properties": {"lead": {"type": "integer"}}},
                {"required": ["email"], "properties": {"email": {"type": "string", "pattern": r"\S"}}},
            ]
        },
    )

    lead: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)] | None = None
    email: _Email | None = None
    type: ActivityType
    occurred_at: Annotated[AwareDatetime, AfterValidator(datetime_in_range)] | None = None
    external_id: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, max_length=Activity._meta.get_field("external_id").max_length
        ),
        AfterValidator(one_line),
    ] = ""
    metadata: Annotated[dict[str, Any], AfterValidator(limited_json_object)] = Field(default_factory=dict)


def validate_activity(data: Any, *, now: datetime) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Expected a JSON object."]}
    try:
        item = ActivityIn.model_validate(data)
    except PydanticValidationError as exc:
        return None, field_messages(exc)
    if item.lead is None and not item.email:
        return None, {"lead": ["Give the lead's id (lead) or its e-mail address (email)."]}
    occurred_at = item.occurred_at or now
    if occurred_at < EARLIEST_OCCURRED_AT:
        return None, {"occurred_at": ["Must not be before 2000-01-01."]}
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
        stored = upsert_activities(rows=list(keyed.values()), now=now)
        plain_ids = insert_activities(rows=[row for _, row in unkeyed], now=now)
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
