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
action("scoring_model.approved", verb="approved", details="for {side}")
action("scoring_model.activated", verb="activated", details=_retired)
