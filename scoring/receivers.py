"""What scoring does when the leads app announces something. Receivers only delegate."""

from __future__ import annotations

from typing import Any

from core.queue import enqueue_on_commit
from scoring.tasks import score_leads_task


def on_leads_changed(*, lead_ids: list[int], **kwargs: Any) -> None:
    """New or changed leads, or leads with new activities, are rescored once the change commits."""
    if lead_ids:
        enqueue_on_commit(score_leads_task, sorted(set(lead_ids)))
