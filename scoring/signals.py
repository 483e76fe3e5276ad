"""What scoring announces; the funnel (a higher app) connects to it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside a scoring transaction with ``lead_ids``: the leads whose score, grade or breakdown was just
# recomputed. The funnel promotes the ones that meet the MQL bar (``scoring.qualification``).
leads_scored = Signal()
