from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alignment.goals import progress_of
from alignment.periods import InvalidPeriod, parse_period

MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)  # exactly half of November has passed


def status(metric: str, target: float, value, now=MID_NOVEMBER, period="2026-11") -> str:
    return progress_of(metric=metric, target=target, period=period, value=value, now=now).status


def test_a_count_is_paced_linearly_and_is_at_risk_within_ten_percent_below_pace():
    # Target 100 MQLs; by mid-month the pace is 50.
    assert status("mqls", 100, 50) == "on_track"
    assert status("mqls", 100, 45) == "at_risk"  # exactly 10 % below pace
    assert status("mqls", 100, 44) == "off_track"
    progress = progress_of(metric="mqls", target=100, period="2026-11", value=45, now=MID_NOVEMBER)
    assert (progress.ratio, progress.expected_ratio) == (0.45, 0.5)


def test_a_quarter_is_paced_over_its_three_months():
    # 1 November is day 31 of the 92 days of Q4.
    progress = progress_of(
        metric="sqls", target=92, period="2026-Q4", value=31, now=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert progress.expected_ratio == pytest.approx(31 / 92, abs=1e-4)
    assert progress.status == "on_track"


def test_a_rate_is_expected_at_its_target_all_period_long():
    progress = progress_of(
        metric="acceptance_rate", target=0.8, period="2026-11", value=0.75, now=MID_NOVEMBER
    )
    assert progress.expected_ratio == 1.0
    assert progress.status == "at_risk"  # 0.75 is within 10 % below 0.8
    assert status("acceptance_rate", 0.8, 0.7) == "off_track"
    assert status("acceptance_rate", 0.8, 0.8) == "on_track"


def test_lower_is_better_kpis_treat_the_target_as_a_ceiling():
    assert status("cost_per_mql", 100, 90) == "on_track"
    assert status("cost_per_mql", 100, 110) == "at_risk"  # within 10 % above
    assert status("cost_per_mql", 100, 111) == "off_track"
    assert status("median_hours_to_accept", 8, 4) == "on_track"


def test_a_goal_without_a_value_is_on_track_before_its_period_and_at_risk_after():
    before = datetime(2026, 10, 20, tzinfo=UTC)
    assert status("acceptance_rate", 0.8, None, now=before) == "on_track"
    assert status("acceptance_rate", 0.8, None) == "at_risk"
    progress = progress_of(metric="mqls", target=10, period="2026-11", value=None, now=before)
    assert (progress.ratio, progress.expected_ratio) == (None, 0.0)


def test_a_zero_target_has_no_ratio_but_a_status():
    progress = progress_of(metric="lost", target=0, period="2026-11", value=0, now=MID_NOVEMBER)
    assert progress.ratio is None
    assert progress.status == "on_track"
    assert status("lost", 0, 1) == "off_track"


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-00", "2026-Q5", "2026-q4", "2026-1", "99999-01", "", None, 202611]
)
def test_bad_periods_are_refused(bad):
    with pytest.raises(InvalidPeriod):
        parse_period(bad)


def test_periods_know_their_bounds_and_neighbours():
    q4 = parse_period("2026-Q4")
    assert (str(q4.first_day), str(q4.end_day)) == ("2026-10-01", "2027-01-01")
    assert [m.key for m in q4.months()] == ["2026-10", "2026-11", "2026-12"]
    assert q4.previous().key == "2026-Q3"
    assert parse_period("2026-01").previous().key == "2025-12"
    assert parse_period("2026-11").quarter().key == "2026-Q4"
