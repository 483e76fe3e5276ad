"""What the leads app announces; scoring (a higher app) connects to it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that created or changed leads, or recorded activities for them, with
# ``lead_ids``: the leads whose score may have changed.
leads_changed = Signal()

# Sent inside the transaction of a merge, before the other lead is deleted, with ``survivor_id`` and
# ``other_id``: higher apps move what they keep about the other lead (hand-offs, score history) over.
leads_merged = Signal()
