"""The unassigned queue: hand-offs that found no rep with room go to reps who have room again."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from funnel.handoff import reassign_handoff
from funnel.models import Handoff, HandoffStatus
from funnel.routing import load_router, save_router
from leads.models import Lead
from leads.pipeline import Stages


def route_unassigned(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Hand waiting hand-offs from the unassigned queue to reps who have room again, with a fresh clock.

    Leads are claimed ``FOR UPDATE SKIP LOCKED`` after the routing lock, as promotion does, so a lead that a
    manager is reassigning at that moment is left for the next sweep.
    """
    now = now or timezone.now()
    stages = Stages.load()
    with transaction.atomic():
        router = load_router()
        waiting = dict(
            Handoff.objects.filter(status=HandoffStatus.OPEN, rep=None)
            .order_by("sla_due_at", "pk")
            .values_list("lead_id", "pk")[:batch_size]
        )
        leads = list(
            Lead.objects.filter(pk__in=list(waiting)).select_for_update(skip_locked=True).order_by("pk")
        )
        routed = 0
        for lead in leads:
            rep_id = router.pick(lead.country or "")
            if rep_id is None:
                continue
            handoff = Handoff.objects.get(pk=waiting[lead.pk])
            reassign_handoff(
                handoff=handoff, lead=lead, rep_id=rep_id, actor=None, now=now, stages=stages, rule="routing"
            )
            routed += 1
        save_router(router)
    return routed
