"""Promotion: leads that meet the jointly agreed MQL bar become MQLs and are handed to sales, set-based."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from core.models import WebhookEventType
from funnel import alerts, promotion_sql
from funnel.deadlines import sla_deadline
from funnel.events import emit_handoff_events
from funnel.routing import load_router, save_router
from leads.events import emit_lead_events
from leads.models import Activity, Lead, StageKind, Transition
from leads.pipeline import BulkMove, Stages, move_leads
from scoring.models import ScoringModel
from scoring.qualification import active_scoring_model, mql_bar_q

K = StageKind
PROMOTE_BATCH = 5000


def promotable_leads(*, stages: Stages, model: ScoringModel | None) -> Any:
    """Leads that meet the MQL bar and are waiting for it.

    A lead in Inquiry is promoted as soon as it meets the bar. A lead recycled to Nurture keeps its score,
    so it is promoted again only when it meets the bar AND did something after its latest move to Nurture
    (new qualifying engagement); otherwise a rejected lead would bounce straight back to sales.
    """
    last_nurtured = (
        Transition.objects.filter(lead=OuterRef(OuterRef("pk")), to_stage__kind=K.NURTURE)
        .order_by("-at")
        .values("at")[:1]
    )
    re_engaged = Exists(Activity.objects.filter(lead=OuterRef("pk"), occurred_at__gt=Subquery(last_nurtured)))
    waiting = Q(stage__in=stages.slugs_of(K.INQUIRY)) | (Q(stage__in=stages.slugs_of(K.NURTURE)) & re_engaged)
    return Lead.objects.filter(mql_bar_q(model)).filter(waiting)


def promote_qualified_leads(
    *, lead_ids: Sequence[int] | None = None, now: datetime | None = None, batch_size: int = PROMOTE_BATCH
) -> int:
    """Promote every waiting lead that meets the MQL bar (only ``lead_ids`` if given) and route it.

    Set-based, in batches of ``batch_size`` leads per transaction. Returns the number of hand-offs made.
    """
    model = active_scoring_model()
    if model is None:
        return 0
    stages = Stages.load()
    total = 0
    chunks: Iterable[Sequence[int] | None] = (
        [None]
        if lead_ids is None
        else [lead_ids[i : i + batch_size] for i in range(0, len(lead_ids), batch_size)]
    )
    for chunk in chunks:
        while True:
            made = _promote_batch(
                lead_ids=chunk, now=now or timezone.now(), batch_size=batch_size, stages=stages, model=model
            )
            total += made
            if made < batch_size or chunk is not None:
                break
    return total


def _promote_batch(
    *, lead_ids: Sequence[int] | None, now: datetime, batch_size: int, stages: Stages, model: ScoringModel
) -> int:
    with transaction.atomic():
        promotion_sql.relax_commit()
        router = load_router()
        candidates = promotable_leads(stages=stages, model=model)
        if lead_ids is not None:
            candidates = candidates.filter(pk__in=lead_ids)
        # TRICKY: no ORDER BY in SQL. Ordered by id, PostgreSQL would walk the primary key past every lead
        # already promoted (quadratic over a big backlog); unordered, it reads the stage index. The batch is
        # sorted here so the rotation hands leads out in the order they arrived.
        rows = sorted(
            candidates.order_by()
            .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            .values_list("pk", "country", "stage")
        )
        if not rows:
            return 0
        moves = [
            BulkMove(lead_id=pk, from_stage_id=stages.id_of(stage), owner_id=router.pick(country or ""))
            for pk, country, stage in rows
        ]
        mql = stages.first_of(K.MQL)
        due = sla_deadline(stages=stages, now=now)
        rule = f"mql-bar:v{model.version}"
        reason = (
            f"Score ≥ {model.mql_threshold} with grade {model.min_grade} or better "
            f"(scoring model v{model.version})."
        )
        move_leads(moves=moves, to_stage=mql, at=now, rule=rule, reason=reason, sla_due_at=due)
        promoted = [m.lead_id for m in moves]
        promotion_sql.open_handoffs(lead_ids=promoted, rep_ids=[m.owner_id for m in moves], at=now, due=due)
        alerts.handoffs_opened(assigned=[(m.lead_id, m.owner_id) for m in moves], now=now)
        save_router(router)
        emit_lead_events(event=WebhookEventType.LEAD_QUALIFIED, lead_ids=promoted)
        emit_handoff_events(event=WebhookEventType.HANDOFF_ASSIGNED, lead_ids=promoted)
    return len(rows)
