"""Demo goals and KPI snapshots (built by the goals and KPIs issue)."""

from __future__ import annotations

import random
from datetime import datetime


def seed_goals(*, rng: random.Random, now: datetime) -> None:
    """Create joint demo goals and compute KPI snapshots for the last twelve months."""
