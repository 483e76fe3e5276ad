"""Merging two leads: the other lead's history moves to the survivor, and the other lead goes away.

Activities, notes, transitions, aliases and audit history move over; the survivor's empty fields are filled
from the other; the other's e-mail becomes an alias of the survivor, so a later upsert of it updates the
survivor; higher apps move their own rows on ``leads_merged``; the survivor is rescored.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import record
from core.errors import Conflict, Forbidden, NotFound, ValidationProblem
from core.models import AuditEvent
from core.roles import is_manager
from leads.duplicates import refresh_match_keys
from leads.fields import WRITABLE_FIELDS
from leads.models import Activity, Lead, LeadAlias, Note, StageKind, Transition
from leads.pipeline import Stages
from leads.signals import leads_changed, leads_merged

# Fields the survivor keeps whatever it holds (its identity).
_KEPT = frozenset({"email"})
_EMPTY: tuple[Any, ...] = ("", None, {}, [])


def merge_leads(*, survivor_id: int, other_id: int, actor: Any) -> Lead:
    """Merge lead ``other_id`` into lead ``survivor_id`` (managers). 409 if either waits in a hand-off.

    One transaction; both leads are locked in id order, as every other use-case locks leads.
    """
    if not is_manager(actor):
        raise Forbidden("Only managers merge leads.")
    if survivor_id == other_id:
        raise ValidationProblem({"other": ["A lead cannot be merged into itself."]})
    stages = Stages.load()
    with transaction.atomic():
        locked = {
            lead.pk: lead
            for lead in Lead.objects.select_for_update().filter(pk__in=[survivor_id, other_id]).order_by("pk")
        }
        if survivor_id not in locked:
            raise NotFound("No such lead.")
        if other_id not in locked:
            raise ValidationProblem({"other": [f"No lead with id {other_id}."]})
        survivor, other = locked[survivor_id], locked[other_id]
        for lead in (survivor, other):
            if stages.kind_of(lead.stage_id) == StageKind.MQL:  # type: ignore[arg-type]  # stubs: a FK with a default reads as optional
                raise Conflict(
                    f"Lead {lead.pk} ({lead.email}) is waiting in a hand-off: accept or reject it first."
                )
        filled = _fill_empty_fields(survivor=survivor, other=other)
        _move_history(survivor=survivor, other=other)
        leads_merged.send(sender=Lead, survivor_id=survivor.pk, other_id=other.pk)
        other_email = other.email
        other.delete()
        LeadAlias.objects.create(email=other_email, lead=survivor)
        now = timezone.now()
        survivor.updated_at = now
        survivor.save(update_fields=[*filled, "updated_at"])
        refresh_match_keys(lead_ids=[survivor.pk])
        Note.objects.create(
            lead=survivor,
            author=actor,
            body=f"Merged lead #{other_id} ({other_email}) into this lead"
            + (f"; filled in: {', '.join(filled)}." if filled else "."),
        )
        data = {"survivor": survivor.pk, "other": other_id, "other_email": other_email, "filled": filled}
        record(actor=actor, action="lead.merged", obj=survivor, data=data)
        # The other lead's own trail ends with where it went.
        AuditEvent.objects.create(
            actor=actor,
            action="lead.merged_away",
            object_type=Lead._meta.label_lower,
            object_id=str(other_id),
            data=data,
        )
        leads_changed.send(sender=Lead, lead_ids=[survivor.pk])
    survivor.refresh_from_db()
    return survivor


def _fill_empty_fields(*, survivor: Lead, other: Lead) -> list[str]:
    """Copy the other lead's values into the survivor's empty writable fields; returns the fields filled."""
    filled = []
    for field in WRITABLE_FIELDS:
        if field.name in _KEPT:
            continue
        attribute = field.model_field.attname
        mine, theirs = getattr(survivor, attribute), getattr(other, attribute)
        if mine in _EMPTY and theirs not in _EMPTY:
            setattr(survivor, attribute, theirs)
            filled.append(field.name)
    return filled


def _move_history(*, survivor: Lead, other: Lead) -> None:
    for model in (Activity, Note, Transition, LeadAlias):
        model.objects.filter(lead=other).update(lead=survivor)
    AuditEvent.objects.filter(object_type=Lead._meta.label_lower, object_id=str(other.pk)).update(
        object_id=str(survivor.pk)
    )
