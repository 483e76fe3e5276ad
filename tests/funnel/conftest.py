from __future__ import annotations

import pytest

from scoring.models import ScoringModel
from tests.factories import LeadFactory


@pytest.fixture
def scoring_model(db):
    """The active scoring model: score ≥ 60 with grade B or better is an MQL."""
    return ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )[0]


def qualified(**kwargs):
    """A lead in Inquiry that meets the MQL bar."""
    return LeadFactory(score=kwargs.pop("score", 80), grade=kwargs.pop("grade", "A"), **kwargs)
