"""The dashboard compares a running period with the previous one up to the same point, not with all of it.

Hand-worked case, as of 2 December 2026, 10:00 (UTC):

* December so far: three MQLs (f, g, h), two of them accepted; one SQL (f); f won for 15,000.
* November up to 2 November, 10:00: two MQLs (a, b), one accepted by then (a; b only on 5 November);
  one SQL (a); a won for 10,000.
* The whole of November: five MQLs (a to e), four accepted; two SQLs (a, d); won 10,000 + 30,000 = 40,000.

So against the same span December is ahead (MQLs +50 %, won amount +50 %, acceptance 67 % vs 50 %: +17 pts,
SQLs unchanged), where against the whole month it looked behind (-40 %, -62 %, -13 pts, -50 %).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alignment.dashboard import build_dashboard
from alignment.dashboard_filters import read_filters
from alignment.kpi_definitions import KPIS
from alignment.models import KpiSnapshot
from alignment.periods import parse_period
from alignment.snapshots import PRIOR, compute_snapshots
from tests.alignment.pipeline import at, journey
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


def won_deal(created: datetime, mql: datetime, accepted: datetime, won: datetime, amount: int):
    lead = journey(created=created, source="web").to("mql", mql).to("sal", accepted)
    return lead.to("sql", accepted).to("opportunity", accepted, amount=amount).to("won", won, amount=amount)


@pytest.fixture
def two_months(db):
    # November
    won_deal(at(11, 1, 8), at(11, 1, 9), at(11, 1, 15), at(11, 2, 9), 10_000)  # a
    journey(created=at(11, 1, 8), source="web").to("mql", at(11, 2, 8)).to("sal", at(11, 5))  # b
    journey(created=at(11, 2, 11), source="web").to("mql", at(11, 2, 12)).to("sal", at(11, 3))  # c
    won_deal(at(11, 19), at(11, 20), at(11, 21), at(11, 25), 30_000)  # d
    journey(created=at(11, 19), source="web").to("mql", at(11, 20))  # e
    # December so far
    won_deal(at(12, 1, 8), at(12, 1, 9), at(12, 1, 12), at(12, 2, 9), 15_000)  # f
    journey(created=at(12, 1, 8), source="web").to("mql", at(12, 1, 10)).to("sal", at(12, 2, 8))  # g
    journey(created=at(12, 2, 8), source="web").to("mql", at(12, 2, 9))  # h
    compute_snapshots(period="2026-11", now=NOW)
    compute_snapshots(period="2026-12", now=NOW)


def tiles(dashboard) -> dict[str, tuple[str, str]]:
    return {t.kpi.key: (t.display, t.delta) for t in dashboard.tiles}


def dashboard_for(period: str):
    return build_dashboard(read_filters({"period": period}), now=NOW)


@pytest.mark.parametrize(
    ("period", "now", "same_point"),
    [
        ("2026-12", datetime(2026, 12, 2, 10, tzinfo=UTC), datetime(2026, 11, 2, 10, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        ("2027-01", datetime(2027, 1, 2, 23, 30, tzinfo=UTC), datetime(2026, 12, 2, 23, 30, tzinfo=UTC)),
        # March is longer than February: from the 29th on, February is over.
        ("2026-03", datetime(2026, 3, 31, 12, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        # 15 February is day 46 of Q1; day 46 of Q4 is 15 November.
        ("2027-Q1", datetime(2027, 2, 15, 8, tzinfo=UTC), datetime(2026, 11, 15, 8, tzinfo=UTC)),
    ],
)
def test_the_same_point_in_the_previous_period_is_the_same_day_and_time_of_it(period, now, same_point):
    assert parse_period(period).same_point_in_previous(now) == same_point


def test_a_running_month_keeps_the_previous_month_up_to_the_same_point_beside_its_own_numbers(two_months):
    def value(period: str, metric: str):
        return KpiSnapshot.objects.get(period=period, scope_kind="all", metric=metric).value

    assert (value("2026-12", "mqls"), value("2026-12", PRIOR + "mqls")) == (3, 2)
    assert (value("2026-12", "won_amount"), value("2026-12", PRIOR + "won_amount")) == (15_000, 10_000)
    assert value("2026-12", PRIOR + "acceptance_rate") == 0.5
    assert (value("2026-11", "mqls"), value("2026-11", "acceptance_rate")) == (5, 0.8)
    # A finished month has no such rows: the whole previous month is its fair comparison.
    assert not KpiSnapshot.objects.filter(period="2026-11", metric__startswith=PRIOR).exists()
    assert KpiSnapshot.objects.filter(period="2026-12", metric__startswith=PRIOR).count() == len(KPIS)


def test_the_tiles_of_a_running_month_compare_with_the_same_days_of_the_previous_month(two_months):
    dashboard = dashboard_for("2026-12")
    assert dashboard.comparison.label == "1\u20132 Nov"
    assert dashboard.comparison.title == (
        "Dec 2026 up to 2 Dec, 10:00 compared with Nov 2026 up to the same point, 2 Nov, 10:00."
    )
    got = tiles(dashboard)
    assert got["mqls"] == ("3", "+50 %")
    assert got["won_amount"] == ("15,000", "+50 %")
    assert got["sqls"] == ("1", "no change")
    assert got["acceptance_rate"] == ("67 %", "+17 pts")
    rows = {r.kpi.key: r.previous for r in dashboard.kpi_rows}
    assert (rows["mqls"], rows["won_amount"], rows["acceptance_rate"]) == ("2", "10,000", "50 %")


def test_a_finished_month_compares_with_the_whole_previous_month(two_months):
    dashboard = dashboard_for("2026-11")
    assert dashboard.comparison.label == "Oct 2026"
    assert tiles(dashboard)["mqls"] == ("5", "")  # nothing was computed for October


def test_without_the_same_span_the_page_says_it_compares_with_the_whole_month(two_months):
    KpiSnapshot.objects.filter(metric__startswith=PRIOR).delete()  # numbers computed before they were kept
    dashboard = dashboard_for("2026-12")
    assert dashboard.comparison.label == "Nov 2026 (whole month)"
    got = tiles(dashboard)
    assert got["mqls"] == ("3", "-40 %")
    assert got["won_amount"] == ("15,000", "-62 %")


def test_a_quarter_compares_with_the_previous_quarter_up_to_the_same_day(db):
    journey(created=at(7, 1), source="web").to("mql", at(7, 10))
    journey(created=at(9, 1), source="web").to("mql", at(9, 10))  # after 1 Sep, 10:00: not in the span
    journey(created=at(10, 1), source="web").to("mql", at(10, 5))
    journey(created=at(11, 1), source="web").to("mql", at(11, 1, 12))
    # 2 December is 62 days into Q4; 62 days into Q3 is 1 September.
    assert parse_period("2026-Q4").same_point_in_previous(NOW) == datetime(2026, 9, 1, 10, tzinfo=UTC)
    compute_snapshots(period="2026-Q4", now=NOW)
    dashboard = dashboard_for("2026-Q4")
    assert dashboard.comparison.label == "1 Jul \u2013 1 Sep"
    assert tiles(dashboard)["mqls"] == ("2", "+100 %")


def test_the_api_and_goals_never_see_the_comparison_rows(two_months, rep):
    body = client_for(rep).get("/api/v1/kpis/", {"period": "2026-12"}).json()
    assert set(body["metrics"]) == set(KPIS)
    assert body["metrics"]["mqls"] == 3


def test_a_rerun_after_the_month_ends_drops_the_comparison_rows(two_months):
    compute_snapshots(period="2026-12", now=datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert not KpiSnapshot.objects.filter(metric__startswith=PRIOR).exists()
    assert dashboard_for("2026-12").comparison.label == "Nov 2026"


def test_the_page_names_what_it_compares_with_and_still_marks_the_month_so_far(client, two_months, rep):
    client.force_login(rep)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/")
    html = response.content.decode()
    assert response.context["period"].key == "2026-12"
    title = "Dec 2026 up to 2 Dec, 10:00 compared with Nov 2026 up to the same point, 2 Nov, 10:00."
    assert f'title="{title}"' in html
    assert "+50 % vs 1\u20132 Nov" in html
    assert '<th class="num" title="Dec 2026 up to 2 Dec' in html
    assert ">1\u20132 Nov</th>" in html
    assert response.context["trends"].volume.bars[-1].partial
    assert "so far" in html


def test_a_running_month_costs_the_same_queries_whatever_the_number_of_leads(two_months):
    with CaptureQueriesContext(connection) as small:
        compute_snapshots(period="2026-12", now=NOW)
    for day in range(1, 21):
        journey(created=at(11, day), source="web").to("mql", at(11, day, 11)).to("sal", at(11, day, 12))
        journey(created=at(12, 1), source="web").to("mql", at(12, 1, 11))
    with CaptureQueriesContext(connection) as large:
        compute_snapshots(period="2026-12", now=NOW)
    # The measures twice (December so far, November up to the same point) and one upsert.
    assert len(large) == len(small) <= 50
    prior = KpiSnapshot.objects.get(period="2026-12", scope_kind="all", metric=PRIOR + "mqls")
    assert prior.value == 2 + 1  # a and b, and the lead that reached MQL on 1 November at 11:00
