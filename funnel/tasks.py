"""Celery tasks for the funnel: thin wrappers that take ids and call one domain function each."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from funnel import promotion, sla, unassigned

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(**RETRY)
def promote_leads_task(lead_ids: list[int] | None = None) -> int:
    """Promote and route the given leads if they meet the MQL bar (every waiting lead when no ids)."""
    return promotion.promote_qualified_leads(lead_ids=lead_ids)


@shared_task(**RETRY)
def sweep_promotions_task() -> int:
    """The periodic sweep: any lead that meets the bar but was missed (a lost message) is promoted, and
    hand-offs waiting in the unassigned queue go to reps who have room again."""
    return promotion.promote_qualified_leads() + unassigned.route_unassigned()


@shared_task(**RETRY)
def mark_sla_breaches_task() -> int:
    return len(sla.mark_breaches())
