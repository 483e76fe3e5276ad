from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from alignment.demo import seed_goals
from alignment.models import Goal, KpiSnapshot
from tests.alignment.pipeline import at, journey


def test_the_demo_sets_joint_goals_and_fills_twelve_months_of_snapshots(db):
    journey(created=at(10, 2), source="web").to("mql", at(10, 3)).to("sal", at(10, 4)).to("sql", at(10, 6))
    journey(created=at(8, 2), source="web").to("mql", at(8, 3)).to("sal", at(8, 4))
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)

    seed_goals(rng=random.Random(1), now=now)

    months = {p for p in KpiSnapshot.objects.values_list("period", flat=True) if "Q" not in p}
    assert len(months) == 12
    assert {"2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1"} <= set(
        KpiSnapshot.objects.values_list("period", flat=True)
    )
    metrics = set(Goal.objects.values_list("metric", flat=True))
    assert metrics == {
        "mqls", "sqls", "sla_compliance", "funnel_depth_credit", "acceptance_rate",
        "marketing_sourced_won_amount",
    }  # fmt: skip
    assert set(Goal.objects.values_list("period", flat=True)) == {"2026-11", "2026-10", "2026-Q4"}
    # October's SQL goal would ask a little more than September delivered; with none, the floor of 40
    # applies. November's asks 7-13 % more than October's one SQL, which rounds to 1.
    assert Goal.objects.get(metric="sqls", period="2026-10").target == 40
    assert Goal.objects.get(metric="sqls", period="2026-11").target == 1

    # Rates follow last period's rate: Q3's acceptance was 100 %, so Q4 asks (at most) 95 %; with no
    # September hand-offs due, October's SLA goal is the usual 90 %.
    assert Goal.objects.get(metric="acceptance_rate", period="2026-Q4").target == Decimal("0.95")
    assert Goal.objects.get(metric="sla_compliance", period="2026-10").target == Decimal("0.90")

    seed_goals(rng=random.Random(1), now=now)  # a second run adds nothing
    assert Goal.objects.count() == 10
