"""Stage names for lead pages, without the leads app importing the funnel (which owns ``Stage``).

Until a higher app registers a provider (the funnel, in its ``AppConfig.ready()``, returning its ordered
stages from the database), the seeded stages stand in: their slugs are their kinds.
"""

from __future__ import annotations

from collections.abc import Callable

StageChoices = list[tuple[str, str]]

SEEDED_STAGES: StageChoices = [
    ("inquiry", "Inquiry"),
    ("mql", "Marketing qualified"),
    ("sal", "Sales accepted"),
    ("sql", "Sales qualified"),
    ("opportunity", "Opportunity"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("nurture", "Nurture"),
]

_provider: Callable[[], StageChoices] | None = None


def register_stage_choices(provider: Callable[[], StageChoices]) -> None:
    """Let a higher app supply the ordered ``[(slug, name), …]`` of stages (one query at most)."""
    global _provider
    _provider = provider


def stage_choices() -> StageChoices:
    return list(_provider()) if _provider is not None else list(SEEDED_STAGES)
