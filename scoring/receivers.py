"""What scoring does when the leads app announces something. Receivers only delegate."""

from __future__ import annotations

from typing import Any

from core.queue import enqueue_ids_on_commit
from scoring.models import ScoreChange
from scoring.tasks import score_leads_task


def on_leads_changed(*, lead_ids: list[int], **kwargs: Any) -> None:
    """New or changed leads, or leads with new activities, are rescored once the change commits."""
    if lead_ids:
        enqueue_ids_on_commit(score_leads_task, lead_ids)


def on_leads_merged(*, survivor_id: int, other_id: int, **kwargs: Any) -> None:
    """A merged-away lead's score history is kept on the survivor (inside the merge's transaction)."""
    ScoreChange.objects.filter(lead_id=other_id).update(lead_id=survivor_id)
