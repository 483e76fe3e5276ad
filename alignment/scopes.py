"""KPI scopes: which leads a KPI value or a goal is about — all of them, one campaign, persona or sales rep.

The API and the pages name a scope as text (``all``, ``campaign:<slug>``, ``persona:<slug>``, ``rep:<id>``,
../shared/API.md "Goals and KPIs"); storage keeps its kind and the id of its campaign, persona or rep, so
renaming a campaign or persona leaves its goals and snapshots attached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models

from leads.models import Campaign, Persona


class ScopeKind(models.TextChoices):
    ALL = "all", "All leads"
    CAMPAIGN = "campaign", "Campaign"
    PERSONA = "persona", "Persona"
    REP = "rep", "Rep"


# The foreign key that a scope of each kind sets (``all`` sets none).
SCOPE_FIELDS: dict[str, str] = {
    ScopeKind.CAMPAIGN: "campaign",
    ScopeKind.PERSONA: "persona",
    ScopeKind.REP: "rep",
}

ScopeKey = tuple[str, int]
"""(kind, id): how computation and storage tell scopes apart; the id is 0 for ``all``."""


@dataclass(frozen=True)
class Scope:
    """A scope that exists: its kind, the id of its campaign, persona or rep (0 for all) and its text."""

    kind: str
    ref: int = 0
    text: str = ScopeKind.ALL.value

    @property
    def key(self) -> ScopeKey:
        return (self.kind, self.ref)

    def columns(self) -> dict[str, int | None]:
        """The foreign keys of a row in this scope: ``{"campaign_id": …, "persona_id": …, "rep_id": …}``."""
        return {f"{name}_id": self.ref if kind == self.kind else None for kind, name in SCOPE_FIELDS.items()}

    def __str__(self) -> str:
        return self.text


ALL = Scope(kind=ScopeKind.ALL.value)

_PATTERN = re.compile(r"^(all|campaign:[-a-zA-Z0-9_]{1,60}|persona:[-a-zA-Z0-9_]{1,60}|rep:[0-9]{1,18})$")


class InvalidScope(ValueError):
    pass


def scope_text(kind: str, name: str | int = "") -> str:
    """The API's text for a scope: ``all``, or the kind and the slug (campaign, persona) or id (rep)."""
    return ScopeKind.ALL.value if kind == ScopeKind.ALL else f"{kind}:{name}"


def resolve_scope(value: object) -> Scope:
    """The scope that ``value`` names (one query unless ``all``); ``InvalidScope`` if malformed or unknown."""
    text = value.strip() if isinstance(value, str) else ""
    if not _PATTERN.match(text):
        raise InvalidScope("Must be all, campaign:<slug>, persona:<slug> or rep:<id>.")
    kind, _, name = text.partition(":")
    if kind == ALL.kind:
        return ALL
    candidates = {
        ScopeKind.CAMPAIGN: lambda: Campaign.objects.filter(slug=name),
        ScopeKind.PERSONA: lambda: Persona.objects.filter(slug=name),
        ScopeKind.REP: lambda: get_user_model().objects.filter(pk=int(name)),
    }[ScopeKind(kind)]()
    ref = candidates.values_list("pk", flat=True).first()
    if ref is None:
        raise InvalidScope(f"No {kind} {name!r}.")
    return Scope(kind=kind, ref=ref, text=scope_text(kind, ref if kind == ScopeKind.REP else name))


def parse_scope(value: object) -> str:
    """The text of the scope that ``value`` names; ``InvalidScope`` if malformed or unknown."""
    return resolve_scope(value).text
