"""How scoring's actions read in the audit trail (see ``core.audit_wording``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.audit_wording import action, object_kind

# The stored label already says "Scoring model v3 (draft)"; the page shows every version.
object_kind("scoring.scoringmodel", noun="", url_name="")


def _retired(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    retired = data.get("retired")
    return f"(v{retired} retired)" if retired else "(the first active version)"


def _based_on(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    base = data.get("based_on")
    return f"based on v{base}" if base else ""


action("scoring_model.proposed", verb="proposed", details=_based_on)


def _approved(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    side = data.get("side", "")
    return f"for {side} by proposing it" if data.get("by_proposal") else f"for {side}"


def _rejected(data: Mapping[str, Any], name_of: Callable[[Any], str]) -> str:
    return f"\u201c{data.get('comment', '')}\u201d"


action("scoring_model.approved", verb="approved", details=_approved)
action("scoring_model.rejected", verb="rejected", details=_rejected)
action("scoring_model.activated", verb="activated", details=_retired)
