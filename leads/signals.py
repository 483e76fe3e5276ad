"""What the leads app announces; scoring (a higher app) connects to it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that created or changed leads, or recorded activities for them, with
# ``lead_ids``: the leads whose score may have changed.
leads_changed = Signal()
