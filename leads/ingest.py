"""Lead ingestion: validate, normalise and upsert by e-mail, set-based, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import record
from core.errors import Conflict, ValidationProblem
from core.models import WebhookEventType
from core.webhooks import subscribed
from leads.duplicates import (
    KEY_FIELDS,
    SOURCE_FIELDS,
    keys_set_by,
    match_keys_of,
    refresh_match_keys,
    update_match_keys,
)
from leads.events import emit_lead_events
from leads.ingest_sql import LeadRow, UpsertOutcome, upsert_lead_rows, writes_in_one_statement
from leads.models import Campaign, Lead, LeadAlias, LeadChange, Persona
from leads.pipeline import NEW_LEADS
from leads.schemas import validate_leads as validate_payloads
from leads.signals import leads_changed

MAX_BATCH = 1000


@dataclass
class ItemResult:
    index: int
    status: str  # "created", "updated" or "error"
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    # The lead as stored, when the caller asked for it.
    lead: Lead | None = None

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
    """Validate every item (one pass: ``leads.schemas.validate_leads``) and resolve persona and campaign
    slugs (one query each for the whole batch)."""
    valid, errors = validate_payloads(items)
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


def upsert_leads(*, items: Sequence[Any], answer: bool = False) -> IngestResult:
    """Upsert leads by e-mail: bad items are reported, good ones stored, in one transaction.

    The same e-mail twice in one call is one lead: the later item's fields win, fields absent stay. An
    e-mail of a lead merged away updates the lead it was merged into. With ``answer``, each stored item's
    result carries the lead as stored (``ItemResult.lead``), without reading it again.
    """
    valid, errors = validate_leads(items)
    results = {index: ItemResult(index=index, status="error", errors=errs) for index, errs in errors.items()}
    outcome = _store(valid, answer=answer)
    if outcome.aliases:
        # Rows sent with the e-mail of a lead merged away update the lead it was merged into.
        for row in valid.values():
            row["email"] = outcome.aliases.get(row["email"], row["email"])
        outcome = _store(valid, answer=answer)
    seen: set[str] = set()
    for index, row in valid.items():
        upserted = outcome.leads[row["email"]]
        is_first = row["email"] not in seen
        seen.add(row["email"])
        status = "created" if upserted.created and is_first else "updated"
        results[index] = ItemResult(index=index, status=status, id=upserted.id, lead=upserted.lead)
    return IngestResult(results=[results[i] for i in range(len(items))])


def _store(valid: dict[int, dict[str, Any]], *, answer: bool) -> UpsertOutcome:
    """Write the rows and what goes with them (match keys, webhook events, the rescore), in one transaction;
    nothing when an e-mail is a merged lead's alias (``UpsertOutcome.aliases``)."""
    rows, partial = _rows(valid)
    events = subscribed(WebhookEventType.LEAD_CREATED)
    # One statement that writes nothing else is a transaction by itself: no BEGIN and COMMIT round trips.
    alone = writes_in_one_statement(rows) and not partial and not events
    with nullcontext() if alone else transaction.atomic():
        # An existing lead sent only some of a key's fields: the upsert returns its fields as stored, and
        # its keys are recomputed from them (a new lead's keys came with its row).
        outcome = upsert_lead_rows(
            rows=rows, first_transitions=NEW_LEADS, answer=answer, returning=KEY_FIELDS if partial else ()
        )
        if outcome.aliases or not outcome.leads:
            return outcome
        stale = {u.id: u.stored for email in partial if not (u := outcome.leads[email]).created}
        if stale:
            update_match_keys(leads=stale)
        created_ids = sorted({u.id for u in outcome.leads.values() if u.created})
        updated_ids = sorted({u.id for u in outcome.leads.values() if not u.created})
        if events:
            emit_lead_events(event=WebhookEventType.LEAD_CREATED, lead_ids=created_ids)
        leads_changed.send(sender=Lead, lead_ids=[*created_ids, *updated_ids])
    return outcome


def _rows(valid: dict[int, dict[str, Any]]) -> tuple[list[LeadRow], set[str]]:
    """One row per e-mail (later items' fields win), with its match keys: a new lead takes them all; an
    existing lead those whose fields were all sent. Also the e-mails whose items sent only some of another
    key's fields: for an existing lead, ``update_match_keys`` recomputes that key afterwards."""
    merged: dict[str, dict[str, Any]] = {}
    for row in valid.values():
        if row["email"] in merged:
            merged[row["email"]].update(row)
        else:
            merged[row["email"]] = dict(row)
    rows = []
    partial = set()
    for email, row in merged.items():
        sent = frozenset(row)  # every field any item of this e-mail sent
        complete, some = keys_set_by(sent)
        if some:
            partial.add(email)
        rows.append(LeadRow(values={**row, **match_keys_of(row)}, overwrite=sent | complete))
    return rows, partial


def _shown(lead: Lead, name: str) -> Any:
    """A field's value as the API shows it (persona and campaign by slug), for the change history."""
    if name in ("persona", "campaign"):
        related = getattr(lead, name)
        return related.slug if related is not None else None
    return getattr(lead, name)


def update_lead(*, lead: Lead, fields: dict[str, Any], actor: Any = None) -> Lead:
    """Apply validated fields (as ``validate_lead(partial=True)`` returns them) to one lead.

    Fields whose value really changes are saved, written to the lead's history (``LeadChange``, shown on
    the shared timeline) and to the audit trail, in one transaction; a change to nothing writes nothing.
    Raises ``ValidationProblem`` for an unknown persona or campaign, or an e-mail another lead has;
    ``Conflict`` when another lead takes the e-mail address concurrently.
    """
    wanted = dict(fields)
    related: dict[str, Any] = {}
    for name, model in (("persona", Persona), ("campaign", Campaign)):
        if name in wanted:
            slug = wanted[name]
            if slug:
                found = model.objects.filter(slug=slug).first()
                if found is None:
                    raise ValidationProblem({name: [f"Unknown {name} '{slug}'."]})
                related[name] = found
            else:
                related[name] = None
    changed = {
        name: {"from": _shown(lead, name), "to": value}
        for name, value in wanted.items()
        if _shown(lead, name) != value
    }
    if not changed:
        return lead
    with transaction.atomic():
        if (
            "email" in changed
            and Lead.objects.filter(email__iexact=wanted["email"]).exclude(pk=lead.pk).exists()
        ):
            raise ValidationProblem({"email": ["Another lead already has this e-mail address."]})
        if "email" in changed:
            alias = LeadAlias.objects.filter(email__iexact=wanted["email"]).first()
            if alias is not None and alias.lead_id != lead.pk:
                raise ValidationProblem({"email": ["This e-mail address belongs to another lead (merged)."]})
            if alias is not None:
                alias.delete()  # the lead takes its old address back as its e-mail
        for name in changed:
            setattr(lead, name, related[name] if name in related else wanted[name])
        lead.updated_at = timezone.now()
        columns = [f"{name}_id" if name in related else name for name in changed]
        try:
            # TRICKY: the check above cannot see a concurrent change that takes the same address and has
            # not committed yet; the unique index then refuses this one, which is the client's conflict.
            with transaction.atomic():
                lead.save(update_fields=[*columns, "updated_at"])
        except IntegrityError:
            raise Conflict("Another lead took this e-mail address at the same time.") from None
        if SOURCE_FIELDS & changed.keys():
            refresh_match_keys(lead_ids=[lead.pk])
            lead.refresh_from_db(fields=["name_key", "phone_e164"])
        LeadChange.objects.create(lead=lead, actor=_person(actor), changes=changed)
        record(actor=actor, action="lead.updated", obj=lead, data={"changes": changed})
        leads_changed.send(sender=Lead, lead_ids=[lead.pk])
    return lead


def _person(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


class LeadExists(Conflict):
    """A new lead was asked for with the e-mail of a lead that exists: ``lead_id`` names that lead."""

    def __init__(self, lead_id: int) -> None:
        super().__init__("A lead with this e-mail address already exists.")
        self.lead_id = lead_id


def create_lead(*, item: dict[str, Any], actor: Any) -> Lead:
    """Create one lead (a person typing it in): an e-mail that exists is ``LeadExists``, never an update.

    Raises ``ValidationProblem`` for invalid fields.
    """
    with transaction.atomic():
        result = upsert_leads(items=[item]).results[0]
        if result.status == "error":
            raise ValidationProblem(result.errors)
        if result.status != "created":
            # TRICKY: the upsert has already written the fields to the existing lead; raising inside the
            # transaction rolls that back, so a lead typed in twice (even by two people at once) is an
            # error, not a silent update.
            raise LeadExists(result.id or 0)
        lead = Lead.objects.get(pk=cast(int, result.id))  # a created lead has its id
        record(actor=actor, action="lead.created", obj=lead, data={"email": lead.email})
    return lead
