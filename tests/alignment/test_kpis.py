"""Every KPI on a small hand-built pipeline; the expected values are worked out by hand in the comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alignment.kpi_definitions import KPIS, REGISTRY
from alignment.models import KpiSnapshot
from alignment.scopes import InvalidScope, parse_scope, resolve_scope
from alignment.snapshots import compute_snapshots
from leads.models import CampaignCost, Stage
from tests.alignment.pipeline import at, handoff, journey
from tests.factories import CampaignFactory, PersonaFactory

NOVEMBER = "2026-11"
AFTER_NOVEMBER = at(12, 10)


def snapshot(period: str, scope: str = "all") -> dict:
    found = resolve_scope(scope)
    rows = KpiSnapshot.objects.filter(period=period, scope_kind=found.kind, scope_ref=found.ref)
    return dict(rows.values_list("metric", "value"))


@pytest.fixture
def pipeline(db, rep, other_rep):
    """Twelve leads whose November 2026 is worked out by hand below (times are UTC, 10:00 unless noted)."""
    webinar = CampaignFactory(slug="webinar")
    search = CampaignFactory(slug="search")
    CampaignFactory(slug="empty")  # a campaign with no leads at all
    ops, it = PersonaFactory(slug="ops"), PersonaFactory(slug="it")
    CampaignCost.objects.create(campaign=webinar, month=date(2026, 11, 1), amount=Decimal("1000"))
    CampaignCost.objects.create(campaign=search, month=date(2026, 11, 1), amount=Decimal("500"))
    CampaignCost.objects.create(campaign=search, month=date(2026, 10, 1), amount=Decimal("999"))

    # L1: the happy path inside November; accepted after 6 hours, won 18 days after MQL.
    l1 = journey(created=at(11, 1), campaign=webinar, persona=ops, source="web", owner=rep)
    l1.to("mql", at(11, 2, 9))
    handoff(l1.lead, rep, assigned=at(11, 2, 9), due=at(11, 3, 9), status="accepted", closed=at(11, 2, 15))
    l1.to("sal", at(11, 2, 15)).to("sql", at(11, 5)).to("opportunity", at(11, 10), amount=1000)
    l1.to("won", at(11, 20, 9), amount=1200)

    # L2: created in October, MQL in November, rejected two hours after the deadline; no owner afterwards.
    l2 = journey(created=at(10, 20), campaign=webinar, persona=it, source="paid_search")
    l2.to("mql", at(11, 3))
    handoff(
        l2.lead, rep, assigned=at(11, 3), due=at(11, 4), status="rejected", closed=at(11, 4, 12),
        reason="no-budget",
    )  # fmt: skip
    l2.to("nurture", at(11, 4, 12), reason="no-budget")

    # L3: outbound; SQL on 6 November, back to nurture, MQL again on the 15th and accepted 4 hours later.
    l3 = journey(created=at(9, 1), campaign=search, persona=ops, source="outbound", owner=other_rep)
    l3.to("mql", at(9, 5)).to("sal", at(9, 6)).to("sql", at(11, 6)).to("nurture", at(11, 8))
    l3.to("mql", at(11, 15))
    handoff(l3.lead, other_rep, assigned=at(11, 15), due=at(11, 16), status="accepted", closed=at(11, 15, 14))
    l3.to("sal", at(11, 15, 14))

    # L4: new on 25 November, MQL on the 28th, hand-off still open long after its deadline.
    l4 = journey(created=at(11, 25), source="web", owner=rep)
    l4.to("mql", at(11, 28))
    handoff(l4.lead, rep, assigned=at(11, 28), due=at(11, 29))

    # L5: an October opportunity lost in November.
    l5 = journey(created=at(8, 1), campaign=search, persona=it, source="event", owner=other_rep)
    l5.to("mql", at(8, 2)).to("sal", at(8, 3)).to("sql", at(8, 4)).to("opportunity", at(10, 1), amount=5000)
    l5.to("lost", at(11, 12))

    # L6: an opportunity that goes back to SQL and returns with a new amount: only the latest (3000) counts.
    l6 = journey(created=at(10, 1), campaign=webinar, source="web", owner=rep)
    l6.to("sql", at(10, 15)).to("opportunity", at(11, 10), amount=2000).to("sql", at(11, 12))
    l6.to("opportunity", at(11, 14), amount=3000)

    # L7: MQL in October; the first hand-off is reassigned before its deadline (left out), the second is
    # accepted an hour late, 25 hours after it was assigned.
    l7 = journey(created=at(10, 28), campaign=search, persona=ops, source="web", owner=other_rep)
    l7.to("mql", at(10, 30))
    handoff(l7.lead, rep, assigned=at(10, 30), due=at(11, 2), status="reassigned", closed=at(11, 1))
    handoff(l7.lead, other_rep, assigned=at(11, 1), due=at(11, 2), status="accepted", closed=at(11, 2, 11))
    l7.to("sal", at(11, 2, 11))

    # L8: the first hand-off is taken away a day after its deadline (a miss for rep); other_rep rejects in
    # time.
    l8 = journey(created=at(11, 19), persona=it, source="web", owner=other_rep)
    l8.to("mql", at(11, 20))
    handoff(l8.lead, rep, assigned=at(11, 20), due=at(11, 21), status="reassigned", closed=at(11, 22))
    handoff(
        l8.lead, other_rep, assigned=at(11, 22), due=at(11, 23), status="rejected", closed=at(11, 22, 18),
        reason="no-need",
    )  # fmt: skip
    l8.to("nurture", at(11, 22, 18), reason="no-need")

    # L11: outbound, never an MQL, won in November for 500.
    l11 = journey(created=at(10, 1), source="outbound", owner=rep)
    l11.to("sql", at(11, 1)).to("opportunity", at(11, 10), amount=500).to("won", at(11, 25), amount=500)

    # L12: rejected in July, MQL again on 1 September, won on 30 November: 90 days after that MQL.
    l12 = journey(created=at(7, 1), campaign=search, persona=ops, source="web", owner=other_rep)
    l12.to("mql", at(7, 2)).to("nurture", at(7, 3), reason="no-need").to("mql", at(9, 1))
    l12.to("sal", at(9, 1, 12)).to("sql", at(9, 10)).to("opportunity", at(10, 1), amount=800)
    l12.to("won", at(11, 30), amount=900)
    return {"webinar": webinar, "search": search, "ops": ops, "it": it}


def test_every_kpi_for_all_leads_in_a_month(pipeline):
    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    values = snapshot(NOVEMBER)

    assert values["new_leads"] == 3  # L1, L4, L8
    assert values["mqls"] == 5  # L1, L2, L3, L4, L8
    assert values["sals"] == 3  # L1, L3, L7
    assert values["sqls"] == 4  # L1, L3 (6 Nov), L6 (back from opportunity), L11
    assert values["opportunities"] == 3  # L1, L6 (twice, one lead), L11
    assert values["won"] == 3  # L1, L11, L12
    assert values["lost"] == 1  # L5
    assert values["acceptance_rate"] == pytest.approx(2 / 5, abs=1e-4)  # L1, L3
    assert values["rejection_rate"] == pytest.approx(2 / 5, abs=1e-4)  # L2, L8
    # Only L1 reached SQL after entering MQL in November; L3's SQL came before its November MQL.
    assert values["mql_to_sql_rate"] == pytest.approx(1 / 5, abs=1e-4)
    assert values["win_rate"] == pytest.approx(3 / 4, abs=1e-4)
    # Due in November: L1 met, L2 late, L3 met, L4 open past due, L7#2 late, L8#1 taken away late, L8#2 met;
    # L7#1 was reassigned before its deadline and is left out.
    assert values["sla_compliance"] == pytest.approx(3 / 7, abs=1e-4)
    assert values["median_hours_to_accept"] == 6.0  # 4 (L3), 6 (L1), 25 (L7#2)
    assert values["median_days_mql_to_won"] == 54.0  # (18 (L1) + 90 (L12)) / 2; L11 never was an MQL
    assert values["pipeline_amount"] == 4500.0  # 1000 (L1) + 3000 (L6's latest) + 500 (L11)
    assert values["won_amount"] == 2600.0  # 1200 + 500 + 900
    assert values["marketing_sourced_won_amount"] == 2100.0  # L11 is outbound
    assert values["cost_per_mql"] == 300.0  # (1000 + 500) / 5; October's 999 is another period
    assert values["cost_per_sql"] == 375.0  # 1500 / 4
    # L1 won 10, L2 MQL 1, L4 MQL 1, L6 opportunity 5, L7 SAL 2, L8 MQL 1, L12 won 10; L3 and L11 are
    # outbound, L5 only lost.
    assert values["funnel_depth_credit"] == 30
    assert values["reject_reasons"] == {"no-budget": 1, "no-need": 1}  # L12's July rejection is not counted
    assert set(values) == set(KPIS)


def test_a_campaign_scope_counts_only_its_leads_and_its_own_cost(pipeline):
    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    values = snapshot(NOVEMBER, "campaign:webinar")  # L1, L2, L6

    assert values["new_leads"] == 1
    assert values["mqls"] == 2
    assert values["sqls"] == 2  # L1, L6
    assert values["acceptance_rate"] == 0.5
    assert values["rejection_rate"] == 0.5
    assert values["mql_to_sql_rate"] == 0.5
    assert values["win_rate"] == 1.0
    assert values["sla_compliance"] == 0.5  # L1 met, L2 late
    assert values["pipeline_amount"] == 4000.0
    assert values["won_amount"] == 1200.0
    assert values["cost_per_mql"] == 500.0  # 1000 / 2
    assert values["cost_per_sql"] == 500.0
    assert values["funnel_depth_credit"] == 16  # 10 + 1 + 5
    assert values["reject_reasons"] == {"no-budget": 1}


def test_rep_scopes_follow_the_owner_or_the_latest_hand_off_and_hand_off_kpis_their_rep(
    pipeline, rep, other_rep
):
    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    mine = snapshot(NOVEMBER, f"rep:{rep.pk}")  # L1, L2 (no owner, rep's hand-off), L4, L6, L11
    theirs = snapshot(NOVEMBER, f"rep:{other_rep.pk}")  # L3, L5, L7, L8, L12

    assert mine["mqls"] == 3  # L1, L2, L4
    assert mine["acceptance_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert mine["rejection_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert mine["sla_compliance"] == 0.25  # L1 met; L2 late, L4 open past due, L8#1 taken away late
    assert mine["median_hours_to_accept"] == 6.0
    assert mine["cost_per_mql"] is None  # cost has no meaning per rep
    assert theirs["mqls"] == 2  # L3, L8
    assert theirs["sla_compliance"] == pytest.approx(2 / 3, abs=1e-4)  # L3 met, L7#2 late, L8#2 met
    assert theirs["median_hours_to_accept"] == 14.5  # (4 + 25) / 2
    assert theirs["reject_reasons"] == {"no-need": 1}


def test_acceptance_and_rejection_are_never_mixed_up(db, rep):
    # The pipeline above accepts as many MQLs as it rejects in every scope, so there a swap of the two would
    # pass. Here, all in November: A and B become MQLs and are accepted, C becomes an MQL and is rejected,
    # D is an MQL still waiting. Four MQLs: accepted 2 of 4, rejected 1 of 4.
    for day in (1, 2):  # A, B
        lead = journey(created=at(11, day), source="web", owner=rep).to("mql", at(11, day, 11))
        handoff(
            lead.lead, rep, assigned=at(11, day, 11), due=at(11, day + 1, 11), status="accepted",
            closed=at(11, day, 15),
        )  # fmt: skip
        lead.to("sal", at(11, day, 15))
    c = journey(created=at(11, 3), source="web", owner=rep).to("mql", at(11, 3, 11))
    handoff(
        c.lead, rep, assigned=at(11, 3, 11), due=at(11, 4, 11), status="rejected", closed=at(11, 3, 13),
        reason="no-budget",
    )  # fmt: skip
    c.to("nurture", at(11, 3, 13), reason="no-budget")
    d = journey(created=at(11, 4), source="web", owner=rep).to("mql", at(11, 4, 11))
    handoff(d.lead, rep, assigned=at(11, 4, 11), due=at(11, 5, 11))

    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)

    for scope in ("all", f"rep:{rep.pk}"):  # every lead is rep's
        values = snapshot(NOVEMBER, scope)
        assert values["mqls"] == 4, scope
        assert values["sals"] == 2, scope  # A, B
        assert values["acceptance_rate"] == 0.5, scope  # A, B of 4
        assert values["rejection_rate"] == 0.25, scope  # C of 4
        assert values["reject_reasons"] == {"no-budget": 1}, scope
        # Due in November: A, B and C answered in time, D open past its deadline.
        assert values["sla_compliance"] == 0.75, scope
        assert values["median_hours_to_accept"] == 4.0, scope  # A and B, 11:00 to 15:00


def test_a_persona_scope_has_counts_but_no_cost(pipeline):
    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    values = snapshot(NOVEMBER, "persona:ops")  # L1, L3, L7, L12

    assert values["mqls"] == 2
    assert values["sals"] == 3
    assert values["won"] == 2
    assert values["median_days_mql_to_won"] == 54.0
    assert values["cost_per_mql"] is None


def test_rates_and_medians_are_null_when_nothing_is_there_to_divide(pipeline):
    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    values = snapshot(NOVEMBER, "campaign:empty")

    for key in ("acceptance_rate", "rejection_rate", "mql_to_sql_rate", "win_rate", "sla_compliance"):
        assert values[key] is None, key
    assert values["median_hours_to_accept"] is None
    assert values["median_days_mql_to_won"] is None
    assert values["cost_per_mql"] is None
    assert values["cost_per_sql"] is None
    assert values["mqls"] == 0
    assert values["won_amount"] == 0.0
    assert values["reject_reasons"] == {}


def test_a_quarter_counts_a_lead_once_however_often_it_entered(pipeline):
    compute_snapshots(period="2026-Q4", now=AFTER_NOVEMBER)
    values = snapshot("2026-Q4")

    assert values["mqls"] == 6  # L1, L2, L3, L4, L7 (30 Oct), L8
    assert values["opportunities"] == 5  # L1, L5 (1 Oct), L6 (two entries), L11, L12 (1 Oct)
    assert values["cost_per_mql"] == pytest.approx(2499 / 6, abs=0.01)  # 1000 + 500 + 999


def test_the_rates_look_at_what_happened_since_the_mql_up_to_now(pipeline):
    # On 2 November at noon only L1 has entered MQL (at 09:00) and was not accepted yet (15:00).
    compute_snapshots(period=NOVEMBER, now=at(11, 2, 12))
    early = snapshot(NOVEMBER)
    assert early["mqls"] == 1
    assert early["acceptance_rate"] == 0.0
    # Due by then: only L7#2 (2 Nov 10:00), answered at 11:00, late. L1's is answered at 15:00, after "now",
    # so as of noon it is still open and not yet due.
    assert early["sla_compliance"] == 0.0


def test_an_open_hand_off_whose_deadline_is_still_ahead_is_not_yet_counted(db, rep):
    lead = journey(created=at(11, 1), source="web", owner=rep).to("mql", at(11, 1, 11)).lead
    handoff(lead, rep, assigned=at(11, 1, 11), due=at(11, 2, 11))

    compute_snapshots(period=NOVEMBER, now=at(11, 1, 12))
    assert snapshot(NOVEMBER)["sla_compliance"] is None

    compute_snapshots(period=NOVEMBER, now=at(11, 3))
    assert snapshot(NOVEMBER)["sla_compliance"] == 0.0


def test_stages_are_matched_by_kind_not_slug(db):
    demo_booked = Stage.objects.create(
        slug="demo-booked", name="Demo booked", kind="sql", order=45, team="sales"
    )
    lead = journey(created=at(11, 1), source="web")
    lead.to("mql", at(11, 2)).to("sal", at(11, 3)).to(demo_booked, at(11, 4))

    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    values = snapshot(NOVEMBER)
    assert values["sqls"] == 1
    assert values["mql_to_sql_rate"] == 1.0
    assert values["funnel_depth_credit"] == 3


def test_a_rerun_changes_nothing_but_computed_at(pipeline):
    first = compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    before = {(s.metric, s.scope): (s.pk, s.value) for s in KpiSnapshot.objects.all()}

    second = compute_snapshots(period=NOVEMBER, now=at(12, 11))

    after = {(s.metric, s.scope): (s.pk, s.value) for s in KpiSnapshot.objects.all()}
    assert first == second == len(before)
    assert after == before
    assert set(KpiSnapshot.objects.values_list("computed_at", flat=True)) == {at(12, 11)}


def test_every_scope_gets_every_kpi(pipeline, rep, other_rep):
    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    scopes = {row.scope for row in KpiSnapshot.objects.select_related("campaign", "persona")}
    assert scopes == {
        "all", "campaign:webinar", "campaign:search", "campaign:empty", "persona:ops", "persona:it",
        f"rep:{rep.pk}", f"rep:{other_rep.pk}",
    }  # fmt: skip
    assert KpiSnapshot.objects.count() == len(scopes) * len(REGISTRY)


def test_the_computation_runs_the_same_queries_whatever_the_number_of_leads(pipeline, rep):
    with CaptureQueriesContext(connection) as small:
        compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    for index in range(30):
        campaign = pipeline["webinar"] if index % 2 else pipeline["search"]
        lead = journey(created=at(11, 3), campaign=campaign, source="web", owner=rep)
        lead.to("mql", at(11, 4)).to("sal", at(11, 5))
        handoff(lead.lead, rep, assigned=at(11, 4), due=at(11, 5), status="accepted", closed=at(11, 5))
    with CaptureQueriesContext(connection) as large:
        compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)
    # 27 on PostgreSQL: the measures, the upsert, and one DELETE of comparison rows left from runs while the
    # month was still running (alignment.snapshots.PRIOR).
    assert len(large) == len(small) <= 27
    assert snapshot(NOVEMBER)["mqls"] == 35


def test_a_scope_must_name_something_that_exists(pipeline):
    assert parse_scope("campaign:webinar") == "campaign:webinar"
    for bad in ("campaign:nope", "campaign:", "rep:abc", "market:dach", "", None, "all "):
        if bad == "all ":
            assert parse_scope(bad) == "all"
            continue
        with pytest.raises(InvalidScope):
            parse_scope(bad)


def test_lost_reasons_count_deals_lost_in_the_period_by_reason_and_scope(db, rep):
    webinar = CampaignFactory(slug="webinar")
    ops = PersonaFactory(slug="ops")
    journey(created=at(9, 1), campaign=webinar, owner=rep).to("sql", at(10, 1)).to(
        "lost", at(10, 20), lost="price"
    )
    journey(created=at(9, 1), campaign=webinar, owner=rep).to("sql", at(10, 1)).to(
        "lost", at(11, 3), lost="price"
    )
    journey(created=at(9, 1), persona=ops, owner=rep).to("opportunity", at(10, 1), amount=5).to(
        "lost", at(11, 5), lost="competitor"
    )
    journey(created=at(9, 1), campaign=webinar).to("sql", at(10, 1)).to("lost", at(11, 6))  # no reason given
    journey(created=at(9, 1), campaign=webinar).to("sql", at(10, 1)).to("lost", at(12, 20), lost="timing")

    compute_snapshots(period=NOVEMBER, now=AFTER_NOVEMBER)

    assert snapshot(NOVEMBER)["lost_reasons"] == {"competitor": 1, "price": 1}  # October's and December's not
    assert snapshot(NOVEMBER)["lost"] == 3
    assert snapshot(NOVEMBER, "campaign:webinar")["lost_reasons"] == {"price": 1}
    assert snapshot(NOVEMBER, "persona:ops")["lost_reasons"] == {"competitor": 1}
    assert snapshot(NOVEMBER, f"rep:{rep.pk}")["lost_reasons"] == {"competitor": 1, "price": 1}
    assert KPIS["lost_reasons"].unit == "leads by reason"
