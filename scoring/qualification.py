"""The MQL bar: the contract between scoring (which computes scores) and the funnel (which promotes leads).

A lead meets the bar when its score reaches the active model's ``mql_threshold`` and its grade is at or
above ``min_grade`` (A is best). Scoring never promotes leads itself: inside the transaction that writes new
scores it sends ``scoring.signals.leads_scored``, and the funnel (``funnel.promotion``) promotes the leads
that meet the bar, reading it from here.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from leads.models import Grade, Lead
from scoring.models import ScoringModel, ScoringModelStatus

GRADE_ORDER = [Grade.A, Grade.B, Grade.C, Grade.D]


def active_scoring_model() -> ScoringModel | None:
    return ScoringModel.objects.filter(status=ScoringModelStatus.ACTIVE).first()


def grades_at_or_above(min_grade: str) -> list[str]:
    return [str(g) for g in GRADE_ORDER[: GRADE_ORDER.index(Grade(min_grade)) + 1]]


def mql_bar_q(model: ScoringModel | None = None) -> Q:
    """A filter for leads meeting the bar of ``model`` (the active one by default; none: nobody)."""
    model = model or active_scoring_model()
    if model is None:
        return Q(pk__in=[])
    return Q(score__gte=model.mql_threshold, grade__in=grades_at_or_above(model.min_grade))


def leads_meeting_mql_bar(lead_ids: list[int] | None = None) -> QuerySet[Lead]:
    queryset = Lead.objects.filter(mql_bar_q())
    if lead_ids is not None:
        queryset = queryset.filter(pk__in=lead_ids)
    return queryset
