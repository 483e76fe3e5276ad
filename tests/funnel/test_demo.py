from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from alignment.demo_users import ensure_demo_users
from funnel.demo import seed_funnel
from funnel.models import Handoff
from leads.demo import seed_activities, seed_leads
from leads.models import Lead, Transition
from scoring.qualification import mql_bar_q
from scoring.rescore import rescore_all

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_demo_leads_travel_the_funnel_consistently():
    ensure_demo_users()
    seed_leads(count=800, rng=random.Random(7), now=NOW)
    seed_activities(rng=random.Random(7), now=NOW)
    rescore_all(reason="demo data", now=NOW)  # the funnel demo sends the leads that meet the bar onwards
    seed_funnel(rng=random.Random(7), now=NOW)
    handed_off = Lead.objects.filter(pk__in=Handoff.objects.values("lead"))
    assert handed_off.filter(mql_bar_q()).count() > 0.8 * handed_off.count()
    stages = Counter(Lead.objects.values_list("stage", flat=True))
    assert stages["inquiry"] > stages["mql"] > 0, stages
    for kind in ("sal", "sql", "opportunity", "won", "lost", "nurture"):
        assert stages[kind] > 0, kind
    assert Transition.objects.filter(at__gt=NOW).count() == 0
    # Every lead's stage is where its last transition took it.
    for lead in Lead.objects.prefetch_related("transitions__to_stage"):
        last = max(lead.transitions.all(), key=lambda t: (t.at, t.pk))
        assert last.to_stage.slug == lead.stage_id
    handoffs = Handoff.objects.all()
    assert handoffs.filter(late=True).exists()
    assert handoffs.exclude(breached_at=None).exists()
    assert handoffs.filter(status="reassigned").exists()
    assert Transition.objects.filter(from_stage__slug="nurture", to_stage__slug="mql").exists()
    assert not Transition.objects.filter(to_stage__slug__in=["opportunity", "won"], amount=None).exists()
    open_leads = set(handoffs.filter(status="open").values_list("lead_id", flat=True))
    assert open_leads == set(Lead.objects.filter(stage="mql").values_list("pk", flat=True))
    assert set(Lead.objects.filter(stage="mql").values_list("owner__username", flat=True)) <= {"sam", "sofia"}
    assert not Lead.objects.filter(stage__in=["sal", "sql", "opportunity"], owner=None).exists()
    seed_funnel(rng=random.Random(7), now=NOW)  # a second run adds nothing to leads that have a history
    assert Transition.objects.filter(to_stage__slug="inquiry").count() == 800
