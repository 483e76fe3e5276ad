"""Likely duplicates: leads with the same name and company, the same phone, or the same external id.

The match keys are stored on the lead (indexed) and kept current set-based wherever the fields they come
from are written; finding the duplicates of one lead is one indexed query, and so is listing every likely
pair for the managers' page.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from leads import duplicates_sql
from leads.match_keys import name_key, phone_key
from leads.models import Lead

# Each match key (a column of the lead) and the fields it comes from.
KEY_SOURCES: dict[str, tuple[str, ...]] = {
    "name_key": ("first_name", "last_name", "company"),
    "phone_e164": ("phone", "country"),
}
# The fields the match keys come from: a write that touches none of them leaves the keys alone.
SOURCE_FIELDS = frozenset(name for sources in KEY_SOURCES.values() for name in sources)
# What it takes to tell whether a lead's stored match keys are current: the fields and the keys.
KEY_FIELDS: tuple[str, ...] = (*sorted(SOURCE_FIELDS), *KEY_SOURCES)
REASONS = {
    "name": "Same name and company",
    "phone": "Same phone number",
    "external_id": "Same external id",
}
PAIRS_LIMIT = 200


def match_keys_of(fields: Mapping[str, Any]) -> dict[str, str]:
    """The match keys of a lead with these fields (an absent field is empty, as in a new lead)."""
    return {
        "name_key": name_key(
            fields.get("first_name", ""), fields.get("last_name", ""), fields.get("company", "")
        ),
        "phone_e164": phone_key(fields.get("phone", ""), fields.get("country", "")),
    }


@functools.cache
def keys_set_by(sent: frozenset[str]) -> tuple[frozenset[str], bool]:
    """For a write of the fields ``sent`` to an existing lead: the match keys it sets by itself (all their
    fields sent), and whether another key needs ``refresh_match_keys`` afterwards (some of its fields
    sent)."""
    complete = frozenset(key for key, sources in KEY_SOURCES.items() if sent.issuperset(sources))
    partial = any(sent.intersection(sources) for key, sources in KEY_SOURCES.items() if key not in complete)
    return complete, partial


def refresh_match_keys(*, lead_ids: Sequence[int]) -> int:
    """Recompute the match keys of these leads: one read, one bulk update of those that changed."""
    if not lead_ids:
        return 0
    rows = Lead.objects.filter(pk__in=list(lead_ids)).values("id", *KEY_FIELDS)
    return update_match_keys(leads={row["id"]: row for row in rows})


def update_match_keys(*, leads: Mapping[int, Mapping[str, Any]]) -> int:
    """Set the match keys of leads from their fields as stored (``{id: {field: value}}``, every one of
    ``KEY_FIELDS``, e.g. as an upsert returned them): one bulk update of those that changed, nothing read."""
    changed = []
    for pk, fields in leads.items():
        keys = match_keys_of(fields)
        if (keys["name_key"], keys["phone_e164"]) != (fields["name_key"], fields["phone_e164"]):
            changed.append((pk, keys["name_key"], keys["phone_e164"]))
    if changed:
        duplicates_sql.write_match_keys(rows=changed)
    return len(changed)


@dataclass(frozen=True)
class Duplicate:
    lead: Lead
    reasons: tuple[str, ...]  # keys of REASONS

    @property
    def reason_labels(self) -> list[str]:
        return [REASONS[reason] for reason in self.reasons]


def _reasons(lead: Lead, other: Lead) -> tuple[str, ...]:
    found = []
    if lead.name_key and lead.name_key == other.name_key:
        found.append("name")
    if lead.phone_e164 and lead.phone_e164 == other.phone_e164:
        found.append("phone")
    if lead.external_id and lead.external_id == other.external_id:
        found.append("external_id")
    return tuple(found)


def duplicates_of(*, lead: Lead, leads: QuerySet[Lead] | None = None, limit: int = 50) -> list[Duplicate]:
    """Likely duplicates of ``lead`` among ``leads`` (a queryset; every lead by default): one query."""
    same = Q()
    if lead.name_key:
        same |= Q(name_key=lead.name_key)
    if lead.phone_e164:
        same |= Q(phone_e164=lead.phone_e164)
    if lead.external_id:
        same |= Q(external_id=lead.external_id)
    if not same:
        return []
    candidates = (leads if leads is not None else Lead.objects.all()).filter(same).exclude(pk=lead.pk)
    return [
        Duplicate(lead=other, reasons=_reasons(lead, other))
        for other in candidates.select_related("stage").order_by("-created_at", "-id")[:limit]
    ]


@dataclass(frozen=True)
class Pair:
    first: Lead
    second: Lead
    reasons: tuple[str, ...]

    @property
    def reason_labels(self) -> list[str]:
        return [REASONS[reason] for reason in self.reasons]


def likely_pairs(*, limit: int = PAIRS_LIMIT) -> list[Pair]:
    """Pairs of likely duplicates, newest first: one self-join over the match keys, then one read of the
    leads it names."""
    rows = duplicates_sql.duplicate_pairs(limit=limit)
    ids = {pk for row in rows for pk in (row.first_id, row.second_id)}
    leads = Lead.objects.select_related("stage").in_bulk(ids)
    return [
        Pair(first=leads[row.first_id], second=leads[row.second_id], reasons=row.reasons)
        for row in rows
        if row.first_id in leads and row.second_id in leads
    ]
