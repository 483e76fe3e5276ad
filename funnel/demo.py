"""Demo data for the funnel: twelve months of leads travelling the waterfall (built by the funnel issue)."""

from __future__ import annotations

import random
from datetime import datetime


def seed_funnel(*, rng: random.Random, now: datetime) -> None:
    """Move demo leads through the funnel with realistic conversion and timing."""
