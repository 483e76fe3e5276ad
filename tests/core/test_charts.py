"""Chart geometry: scales, bars, lines, stacks and progress, with the coordinates worked out by hand."""

from __future__ import annotations

import dataclasses

import pytest
from django.template import Context, Template

from core.charts import (
    ProgressBar,
    bar_chart,
    hbar_chart,
    line_chart,
    n,
    nice_ceiling,
    progress_bar,
    stacked_bar_chart,
)


def draw(kind, chart):
    """The chart's markup as a page draws it: through the ``{% chart %}`` tag of a Django template."""
    page = Template('{% load charts %}{% chart kind c=chart chart_id="c1" chart_title="T" %}')
    return page.render(Context({"kind": kind, "chart": chart}))


def whole(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12.0, "12"),
        (12.34, "12.3"),
        (12.25, "12.2"),
        (0.04, "0"),
        (-0.04, "0"),
        (-3.5, "-3.5"),
        (1234.56, "1234.6"),
    ],
)
def test_coordinates_are_text_with_at_most_one_decimal_and_no_thousands_separator(value, text):
    assert n(value) == text


@pytest.mark.parametrize(
    ("peak", "ceiling"),
    [(0, (1.0, 0.25)), (-5, (1.0, 0.25)), (7, (8, 2)), (10, (10, 2.5)), (33, (40, 10)), (1234, (1500, 500))],
)
def test_the_axis_ends_on_a_round_number_with_four_or_five_ticks(peak, ceiling):
    assert nice_ceiling(peak) == ceiling


def test_bars_stand_on_the_axis_in_proportion_to_their_values():
    # Plot: left 34 + 6.5 x len("8") = 40.5, right 640 - 12 = 628, top 24, bottom 280 - 30 = 250 (226 high).
    chart = bar_chart([("a", [(2, "s", "A")]), ("b", [(8, "s", "B")])], fmt=whole, y_label="Leads")

    assert (chart.left, chart.right, chart.bottom) == ("40.5", "628", "250")
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8"]
    assert [t.pos for t in chart.y_ticks] == ["250", "193.5", "137", "80.5", "24"]
    # Two slots of 293.75; each bar is min(64, 293.75 x 0.72) = 64 wide, drawn 62 wide one unit in.
    small, tall = chart.bars
    assert [t.pos for t in chart.x_ticks] == ["187.4", "481.1"]
    assert (small.x, small.width, small.height, small.y) == ("156.4", "62", "56.5", "193.5")
    assert (tall.y, tall.height) == ("24", "226")
    assert small.display == "2"
    assert small.title == "A, a: 2"
    assert (small.inside, small.text_y) == (True, "208.5")  # 56.5 high: the value fits inside


def test_bars_of_a_group_stand_side_by_side():
    chart = bar_chart([("Nov", [(4, "mql", "MQLs"), (2, "sql", "SQLs")])], fmt=whole, y_label="Leads")

    left, right = chart.bars
    assert float(right.x) - float(left.x) == pytest.approx(64)
    assert (left.css, right.css) == ("mql", "sql")


def test_missing_and_negative_bars_are_empty_but_keep_their_text():
    chart = bar_chart([("a", [(None, "s", "A")]), ("b", [(-3, "s", "B")])], fmt=whole, y_label="Leads")

    assert chart.empty
    assert [b.height for b in chart.bars] == ["0", "0"]
    assert [b.display for b in chart.bars] == ["—", "-3"]
    assert [t.label for t in chart.y_ticks] == ["0", "0", "0", "1", "1"]  # 0 … 1 by 0.25, as whole numbers
    assert not chart.bars[0].inside
    assert chart.bars[0].text_y == "245"


def test_a_chart_without_data_has_an_axis_and_no_marks():
    bars = bar_chart([], fmt=whole, y_label="Leads")
    lines = line_chart([], [], fmt=whole, y_label="Leads")
    hbars = hbar_chart([], fmt=whole, x_label="Leads")

    assert bars.bars == []
    assert bars.empty
    assert len(bars.y_ticks) == 5
    assert lines.series == []
    assert lines.empty
    assert hbars.bars == []
    assert hbars.height == 34


def test_a_note_sits_between_two_bars_above_the_plot():
    chart = bar_chart([("a", [(2, "s", "A")]), ("b", [(1, "s", "B")])], fmt=whole, y_label="Leads")
    chart.note_between(1, text="50 %", title="a → b")

    assert chart.notes[0].x == n((187.375 + 481.125) / 2)
    assert (chart.notes[0].y, chart.notes[0].text) == ("16", "50 %")


def test_a_line_breaks_where_a_value_is_missing_and_labels_its_last_value():
    # Plot: left 34 + 6.5 x len("100 %") = 66.5, right 584, top 18, bottom 210; three slots of 172.5.
    chart = line_chart(
        ["Sep", "Oct", "Nov"],
        [("rate", "Rate", [0.5, None, 1.0])],
        fmt=lambda v: f"{v * 100:.0f} %",
        y_label="Share",
        y_max=1.0,
    )

    series = chart.series[0]
    assert series.path == "M152.8,114 M497.8,18"
    assert [(p.x, p.y) for p in series.points] == [("152.8", "114"), ("497.8", "18")]
    assert series.points[0].title == "Rate, Sep: 50 %"
    assert (series.last_label, series.last_x, series.last_y) == ("100 %", "505.8", "22")
    assert [t.label for t in chart.y_ticks] == ["0 %", "25 %", "50 %", "75 %", "100 %"]


def test_a_line_is_drawn_through_consecutive_values_and_negative_values_sit_on_the_axis():
    chart = line_chart(["a", "b"], [("s", "S", [-2, 4])], fmt=whole, y_label="Hours")

    assert chart.series[0].path.startswith("M")
    assert " L" in chart.series[0].path
    assert chart.series[0].points[0].y == chart.bottom
    assert chart.series[0].points[0].title == "S, a: -2"


def test_a_series_with_no_value_has_no_path_and_no_label():
    chart = line_chart(["a", "b"], [("s", "S", [None, None])], fmt=whole, y_label="Hours")

    assert chart.empty
    assert (chart.series[0].path, chart.series[0].last_label) == ("", "")


def test_a_running_last_period_is_a_dotted_segment_with_a_pale_point_labelled_so_far():
    # Same frame as above: x at 152.8, 325.2, 497.8; 50 % at y 114, 100 % at 18, 25 % at 162.
    chart = line_chart(
        ["Sep", "Oct", "Nov"],
        [("rate", "Rate", [0.5, 1.0, 0.25])],
        fmt=lambda v: f"{v * 100:.0f} %",
        y_label="Share",
        y_max=1.0,
        partial_last=True,
    )

    series = chart.series[0]
    assert series.path == "M152.8,114 L325.2,18"  # the full months only
    assert series.partial_path == "M325.2,18 L497.8,162"
    assert [p.partial for p in series.points] == [False, False, True]
    assert series.points[-1].title == "Rate, Nov so far: 25 %"
    assert [t.note for t in chart.x_ticks] == ["", "", "so far"]
    html = draw("line", chart)
    assert '<path class="line partial" d="M325.2,18 L497.8,162"/>' in html
    assert '<circle class="dot partial" cx="497.8"' in html
    assert ">so far</text>" in html


def test_a_running_period_after_a_gap_has_a_point_and_no_segment():
    chart = line_chart(["a", "b"], [("s", "S", [None, 3])], fmt=whole, y_label="Hours", partial_last=True)

    assert (chart.series[0].path, chart.series[0].partial_path) == ("", "")
    assert chart.series[0].points[0].partial


def test_a_running_last_period_has_pale_bars_labelled_so_far():
    chart = bar_chart(
        [("Oct", [(4, "a", "A")]), ("Nov", [(1, "a", "A")])], fmt=whole, y_label="Leads", partial_last=True
    )

    assert [bar.partial for bar in chart.bars] == [False, True]
    assert chart.bars[1].title == "A, Nov so far: 1"
    assert [t.note for t in chart.x_ticks] == ["", "so far"]
    html = draw("bar", chart)
    assert 'class="bar a partial"' in html
    assert bar_chart([("Oct", [(4, "a", "A")])], fmt=whole, y_label="Leads").x_ticks[0].note == ""


def test_a_narrow_line_chart_labels_every_other_month_ending_with_the_last():
    months = ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"]
    chart = line_chart(months, [("s", "S", [1] * 12)], fmt=whole, y_label="Leads", width=360)

    assert [t.label for t in chart.x_ticks] == ["", "F", "", "A", "", "J", "", "A", "", "O", "", "D"]


def test_horizontal_bars_are_as_long_as_their_share_of_the_largest():
    chart = hbar_chart([("No budget", 4), ("No need", 1), ("Other", 0)], fmt=whole, x_label="Leads")

    # 380 wide: 150 for labels, 40 for the value, 190 for the bars.
    assert [b.width for b in chart.bars] == ["190", "47.5", "1"]  # a zero is still a sliver
    assert [b.y for b in chart.bars] == ["8", "38", "68"]
    assert chart.bars[0].value_x == "346"
    assert chart.bars[1].title == "No need: 1"
    assert chart.height == 8 + 3 * 30 + 26


def test_negative_horizontal_bars_are_slivers():
    chart = hbar_chart([("a", -5), ("b", None)], fmt=whole, x_label="Leads")

    assert [b.width for b in chart.bars] == ["1", "1"]
    assert [b.display for b in chart.bars] == ["-5", "—"]


def test_stacks_pile_their_segments_bottom_up_and_the_tallest_fills_the_height():
    chart = stacked_bar_chart(
        [
            ("low", [(3, "d", "grade D"), (1, "a", "grade A")]),
            ("high", [(0, "d", "grade D"), (2, "a", "grade A")]),
        ],
        fmt=lambda v: str(int(v)),
        width=200,
        height=100,
    )

    low, high = chart.stacks
    assert (low.total, high.total) == ("4", "2")
    assert [(s.css, s.y, s.height) for s in low.segments] == [("d", "25", "75"), ("a", "0", "25")]
    assert [(s.css, s.y, s.height) for s in high.segments] == [("a", "50", "50")]  # the zero is left out
    assert (low.segments[0].x, low.segments[0].width, low.label_x) == ("14", "72", "50")
    assert low.segments[1].title == "low: 1 grade A"
    assert (chart.viewbox, chart.label_y, chart.total_y) == ("0 0 200 140", "116", "132")


def test_stacks_of_nothing_are_empty():
    chart = stacked_bar_chart([("a", [(0, "d", "D"), (None, "a", "A")])], fmt=str)

    assert chart.stacks[0].segments == []


@pytest.mark.parametrize(
    ("ratio", "expected", "fill", "pace", "overflow"),
    [
        (0.5, 0.5, "160", "160", False),
        (1.0, 1.0, "320", "320", False),
        (2.0, 0.0, "400", "", True),  # beyond 125 %: full, flagged; before the period: no pace marker
        (None, 0.25, "0", "80", False),
        (-1.0, 1.5, "0", "320", False),
    ],
)
def test_a_progress_bar_shows_the_value_the_target_and_the_pace(ratio, expected, fill, pace, overflow):
    bar = progress_bar(ratio, expected, "on_track")

    assert (bar.fill, bar.pace, bar.target, bar.overflow) == (fill, pace, "320", overflow)


def test_the_templates_draw_the_geometry_without_building_html_in_python():
    chart = bar_chart([("<b>", [(2, "s", "A & B")])], fmt=whole, y_label="Leads")
    html = draw("bar", chart)

    bar = chart.bars[0]
    assert f'x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}"' in html
    assert "&lt;b&gt;" in html
    assert "A &amp; B" in html


def test_a_value_is_escaped_once_through_the_tag():
    chart = hbar_chart([("R&D", 3)], fmt=whole, x_label="Leads")

    html = draw("hbar", chart)

    assert ">R&amp;D</text>" in html
    assert "&amp;amp;" not in html


def test_a_progress_bar_says_everything_its_markup_draws_in_its_repr():
    # The dashboard caches its scoreboard and goal list, progress bars included, under their repr: a field
    # left out of it would serve a bar drawn for other numbers.
    assert all(f.repr for f in dataclasses.fields(ProgressBar))
