"""Full runs: rescore every lead with the active model, in id ranges (on activation, and nightly for decay).

On PostgreSQL each range is one statement (``scoring.scoring_sql``); elsewhere each range goes through the
Python path (``scoring.scoring``). Both give the same numbers.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from core.maintenance_sql import analyze_stale
from leads.models import Activity, Lead
from scoring import scoring_sql
from scoring.models import ScoringRun, ScoringRunStatus
from scoring.qualification import active_scoring_model
from scoring.rules import compile_model
from scoring.scoring import CHUNK, score_chunk
from scoring.signals import leads_scored

logger = logging.getLogger(__name__)

FULL_RUN_ID_SPAN = 50_000  # lead ids per statement on the SQL path


def _score_range(*, lo: int, hi: int, now: datetime, reason: str) -> int:
    """Score the leads with ids in ``[lo, hi]`` in one transaction; returns how many.

    Only the leads whose score, grade or breakdown changed are written and announced: a lead whose numbers
    stand keeps its ``scored_at`` and ``scoring_version`` (the run's ``ScoringRun`` row says every lead was
    looked at), so a nightly run rewrites what decayed or moved, not the whole table.
    """
    with transaction.atomic():
        current = active_scoring_model()
        if current is None:
            return 0
        compiled = compile_model(current)
        if scoring_sql.set_based_scoring():
            result = scoring_sql.score_leads_sql(model=compiled, now=now, reason=reason, lo=lo, hi=hi)
            leads_scored.send(sender=Lead, lead_ids=result.changed)
            return result.scored
        ids = list(Lead.objects.filter(pk__gte=lo, pk__lte=hi).values_list("pk", flat=True))
        if ids:
            score_chunk(model=compiled, lead_ids=ids, now=now, reason=reason, only_changed=True)
        return len(ids)


def _in_own_connection(**kwargs: Any) -> int:
    try:
        return _score_range(**kwargs)
    finally:
        connection.close()


def rescore_all(
    *, reason: str, now: datetime | None = None, id_span: int | None = None, workers: int | None = None
) -> ScoringRun | None:
    """Rescore every lead with the active model, in id ranges, one transaction each.

    Progress (leads done / total) is logged and kept on a ``ScoringRun`` row that the scoring page shows.
    The active model is read again for every range, so a model activated mid-run takes over at once.
    Where a range is one statement (PostgreSQL), ``workers`` ranges (``SCORING_FULL_RUN_WORKERS``, default 2:
    one per core) run at once on their own connections; the ranges are disjoint, so they never wait for each
    other. Elsewhere, or inside a transaction (tests), ranges run one after another.
    """
    model = active_scoring_model()
    if model is None:
        return None
    now = now or timezone.now()
    set_based = scoring_sql.set_based_scoring()
    span = id_span or (FULL_RUN_ID_SPAN if set_based else CHUNK)
    if workers is None:
        workers = getattr(settings, "SCORING_FULL_RUN_WORKERS", 2)
    if not set_based or connection.in_atomic_block:
        workers = 1  # other connections could not see this transaction's rows
    started = time.monotonic()
    if set_based:
        analyze_stale(models=[Lead, Activity])
    bounds = Lead.objects.aggregate(lo=Min("id"), hi=Max("id"), total=Count("id"))
    run = ScoringRun.objects.create(
        model_version=model.version, reason=reason, total=bounds["total"], started_at=now, updated_at=now
    )
    logger.info("full rescore %s with model v%s: %s leads", run.pk, model.version, run.total)
    ranges = []
    if bounds["lo"] is not None:
        ranges = [(lo, lo + span - 1) for lo in range(bounds["lo"], bounds["hi"] + 1, span)]
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        ScoringRun.objects.filter(pk=run.pk).update(done=done, updated_at=timezone.now())
        if count:
            logger.info("full rescore %s: %s / %s leads", run.pk, done, run.total)

    try:
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rescore") as pool:
                futures = [
                    pool.submit(_in_own_connection, lo=lo, hi=hi, now=now, reason=reason) for lo, hi in ranges
                ]
                for future in as_completed(futures):
                    progress(future.result())
        else:
            for lo, hi in ranges:
                progress(_score_range(lo=lo, hi=hi, now=now, reason=reason))
    except BaseException as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=ScoringRunStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    finished = timezone.now()
    ScoringRun.objects.filter(pk=run.pk).update(
        status=ScoringRunStatus.DONE, done=done, updated_at=finished, finished_at=finished
    )
    run.refresh_from_db()
    logger.info("full rescore %s done: %s leads in %.1f s", run.pk, done, time.monotonic() - started)
    return run
