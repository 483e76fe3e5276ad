"""Lead ingestion: validate, normalise and upsert by e-mail, set-based, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, ValidationProblem
from leads.ingest_sql import upsert_lead_rows
from leads.models import Campaign, Lead, Persona
from leads.pipeline import record_new_leads
from leads.schemas import validate_lead
from leads.signals import leads_changed

MAX_BATCH = 1000


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
    for row in valid.values():
        email = row["email"]
        if email in merged:
            merged[email].update(row)
        else:
            merged[email] = dict(row)
    with transaction.atomic():
        outcome = upsert_lead_rows(rows=merged.values())
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


def update_lead(*, lead: Lead, fields: dict[str, Any]) -> Lead:
    """Apply validated fields (as ``validate_lead(partial=True)`` returns them) to one lead.

    Raises ``ValidationProblem`` for an unknown persona or campaign, or an e-mail another lead has;
    ``Conflict`` when another lead takes the e-mail address concurrently.
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
        try:
            # TRICKY: the check above cannot see a concurrent change that takes the same address and has
            # not committed yet; the unique index then refuses this one, which is the client's conflict.
            with transaction.atomic():
                lead.save(update_fields=[*changes, "updated_at"])
        except IntegrityError:
            raise Conflict("Another lead took this e-mail address at the same time.") from None
        leads_changed.send(sender=Lead, lead_ids=[lead.pk])
    return lead
