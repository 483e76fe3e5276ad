"""What the leads app announces; higher apps (funnel, alignment) connect to these."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the ingest transaction with ``created_ids`` and ``updated_ids`` (lists of lead ids).
leads_ingested = Signal()

# Sent inside a scoring transaction with ``lead_ids``: the leads whose score, grade or breakdown was just
# recomputed. The funnel connects to it to promote the ones that meet the MQL bar (leads.qualification).
leads_scored = Signal()
