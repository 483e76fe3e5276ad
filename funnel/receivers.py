"""What the funnel does when scoring announces something. Receivers only delegate."""

from __future__ import annotations

from typing import Any

from core.queue import enqueue_on_commit
from funnel.models import Handoff
from funnel.tasks import promote_leads_task, sweep_promotions_task

# Past this many ids a message would be large; the sweep over every waiting lead does the same work.
MAX_IDS_PER_MESSAGE = 5000


def on_leads_scored(*, lead_ids: list[int], **kwargs: Any) -> None:
    """Rescored leads may meet the MQL bar now: promote them once the scores commit."""
    if not lead_ids:
        return
    if len(lead_ids) > MAX_IDS_PER_MESSAGE:
        enqueue_on_commit(sweep_promotions_task)
    else:
        enqueue_on_commit(promote_leads_task, lead_ids=sorted(lead_ids))


def on_leads_merged(*, survivor_id: int, other_id: int, **kwargs: Any) -> None:
    """A merged-away lead's hand-offs belong to the survivor (inside the merge's transaction)."""
    Handoff.objects.filter(lead_id=other_id).update(lead_id=survivor_id)
