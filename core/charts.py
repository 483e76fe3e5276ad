"""Geometry for the server-rendered SVG charts: plain data that the templates ``jinja2/core/charts/*.svg``
draw, through the ``{% chart %}`` tag (``core/templatetags/charts.py``).

No HTML is written here and no JavaScript is needed. Every chart carries its own axis ticks and labels, the
value of each mark (shown on bars, in ``<title>`` tooltips for points) and a CSS class per series that the
page's stylesheet colours. Coordinates are text (``n``): templates print text as it is, so no per-number
localisation runs and a thousands separator can never break a path.

The charts draw quantities that cannot be negative (counts, amounts, shares, durations): a negative value
is drawn at zero and ``None`` is no mark (a gap in a line); both still show their text where one is shown.

Pages cache fragments that hold progress bars under their repr, so every field a template draws is in the
repr: no ``field(repr=False)`` here (``tests/core/test_charts.py`` checks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Formatter = Callable[[Any], str]


def n(value: float) -> str:
    """A coordinate as text with at most one decimal: ``12``, ``12.5``, never ``-0``."""
    text = f"{value:.1f}"
    if text in ("-0.0", "0.0"):
        return "0"
    return text[:-2] if text.endswith(".0") else text


def _height_of(value: float | None) -> float:
    """The drawable size of a value: ``None`` and negative values are drawn at zero."""
    return max(float(value), 0.0) if value is not None else 0.0


def nice_ceiling(value: float) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and its tick step (4-5 ticks)."""
    if value <= 0:
        return 1.0, 0.25
    raw_step = value / 4
    magnitude = 10 ** math.floor(math.log10(raw_step))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if step * 4 >= value:
            return step * math.ceil(value / step), step
    return value, value / 4  # pragma: no cover - the loop always returns


def _left_margin(widest_tick: str) -> float:
    """Room for the rotated axis label and the widest tick label (about 6.5 units per character)."""
    return 34.0 + 6.5 * len(widest_tick)


def _ticks(*, bottom: float, plot_h: float, axis_max: float, step: float, fmt: Formatter) -> list[Tick]:
    return [
        Tick(pos=n(bottom - plot_h * (i * step / axis_max)), label=fmt(i * step))
        for i in range(round(axis_max / step) + 1)
    ]


# Under the label of a period still running.
SO_FAR = "so far"


@dataclass(frozen=True)
class Tick:
    pos: str
    label: str
    note: str = ""  # a second line under an x label ("so far")


@dataclass(frozen=True)
class Note:
    """A text above the plot, e.g. a conversion between two bars."""

    x: str
    y: str
    text: str
    title: str = ""


@dataclass
class Frame:
    """A chart's canvas and plot area, and the coordinates its template needs."""

    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    y_label: str

    @property
    def viewbox(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def left(self) -> str:
        return n(self.plot_left)

    @property
    def right(self) -> str:
        return n(self.plot_right)

    @property
    def bottom(self) -> str:
        return n(self.plot_bottom)

    @property
    def tick_x(self) -> str:
        return n(self.plot_left - 6)

    @property
    def x_tick_y(self) -> str:
        return n(self.plot_bottom + 16)

    @property
    def x_note_y(self) -> str:
        return n(self.plot_bottom + 28)

    @property
    def x_label_x(self) -> str:
        return n((self.plot_left + self.plot_right) / 2)

    @property
    def x_label_y(self) -> str:
        return n(self.height - 6)

    @property
    def y_label_y(self) -> str:
        return n((self.plot_top + self.plot_bottom) / 2)


# --- Vertical bars --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    label: str  # the x position's label
    display: str  # the value as text, written on or above the bar ("" when values are not shown)
    title: str
    css: str = "series-1"
    text_x: str = "0"
    text_y: str = "0"
    inside: bool = False  # the value is written inside the bar (tall enough), else above it
    empty: bool = False
    partial: bool = False  # the x position is a period still running (drawn lighter, labelled "so far")


@dataclass
class BarChart(Frame):
    x_label: str = ""
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return all(bar.empty for bar in self.bars)

    def note_between(self, index: int, *, text: str, title: str) -> None:
        """Write ``text`` above the gap between x positions ``index - 1`` and ``index``."""
        left, right = float(self.x_ticks[index - 1].pos), float(self.x_ticks[index].pos)
        self.notes.append(Note(x=n((left + right) / 2), y=n(self.plot_top - 8), text=text, title=title))


def bar_chart(
    groups: Sequence[tuple[str, Sequence[tuple[float | None, str, str]]]],
    *,
    fmt: Formatter,
    y_label: str,
    x_label: str = "",
    width: int = 640,
    height: int = 280,
    legend: Sequence[tuple[str, str]] = (),
    values_on_bars: bool = True,
    partial_last: bool = False,
) -> BarChart:
    """Vertical bars, one group per x position: ``[(x label, [(value, css class, tooltip name), …]), …]``.

    ``partial_last``: the last x position is a period still running; its bars are marked ``partial`` and
    its label says "so far", so a young month does not read as a drop."""
    peak = max((_height_of(v) for _, series in groups for v, _, _ in series), default=0)
    axis_max, step = nice_ceiling(peak)
    left = _left_margin(fmt(axis_max))
    right, top, bottom = width - 12.0, 24.0, height - (48.0 if x_label else 30.0)
    plot_h = bottom - top
    slot = (right - left) / max(len(groups), 1)
    per_group = max((len(series) for _, series in groups), default=1)
    bar_w = min(64.0, slot * 0.72 / max(per_group, 1))
    bars, x_ticks = [], []
    for index, (label, series) in enumerate(groups):
        centre = left + slot * (index + 0.5)
        partial = partial_last and index == len(groups) - 1
        x_ticks.append(Tick(pos=n(centre), label=label, note=SO_FAR if partial else ""))
        start = centre - bar_w * len(series) / 2
        for offset, (value, css, name) in enumerate(series):
            h = plot_h * (_height_of(value) / axis_max)
            y = bottom - h
            display = fmt(value)
            inside = h > 22
            x = start + offset * bar_w + 1
            bars.append(
                Bar(
                    x=n(x),
                    y=n(y),
                    width=n(bar_w - 2),
                    height=n(h),
                    label=label,
                    display=display if values_on_bars else "",
                    title=f"{name}, {label}{' so far' if partial else ''}: {display}",
                    css=css,
                    text_x=n(x + (bar_w - 2) / 2),
                    text_y=n(y + 15 if inside else y - 5),
                    inside=inside,
                    empty=h <= 0,
                    partial=partial,
                )
            )
    return BarChart(
        width=width,
        height=height,
        plot_left=left,
        plot_top=top,
        plot_right=right,
        plot_bottom=bottom,
        y_label=y_label,
        x_label=x_label,
        bars=bars,
        y_ticks=_ticks(bottom=bottom, plot_h=plot_h, axis_max=axis_max, step=step, fmt=fmt),
        x_ticks=x_ticks,
        legend=list(legend),
    )


# --- Stacked bars ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    x: str
    y: str
    width: str
    height: str
    css: str
    title: str


@dataclass(frozen=True)
class Stack:
    label: str
    total: str  # the sum of the stack's values, as text
    label_x: str
    segments: list[Segment]


@dataclass(frozen=True)
class StackedChart:
    """Stacks of bars on a baseline, each labelled and totalled below it (no y axis)."""

    width: int
    height: int  # of the plot; the labels take 40 units below it
    stacks: list[Stack]

    @property
    def viewbox(self) -> str:
        return f"0 0 {self.width} {self.height + 40}"

    @property
    def baseline(self) -> str:
        return n(self.height)

    @property
    def label_y(self) -> str:
        return n(self.height + 16)

    @property
    def total_y(self) -> str:
        return n(self.height + 32)


def stacked_bar_chart(
    groups: Sequence[tuple[str, Sequence[tuple[float | None, str, str]]]],
    *,
    fmt: Formatter,
    width: int = 720,
    height: int = 200,
) -> StackedChart:
    """One stack per group, bottom up: ``[(label, [(value, css class, tooltip name), …]), …]``.

    The tallest stack fills the height; a segment with no value (zero, negative or ``None``) is left out.
    """
    totals = [sum(_height_of(v) for v, _, _ in series) for _, series in groups]
    tallest = max(totals, default=0) or 1
    slot = width / max(len(groups), 1)
    bar_w = slot * 0.72
    stacks = []
    for index, ((label, series), total) in enumerate(zip(groups, totals, strict=True)):
        x = index * slot + (slot - bar_w) / 2
        y = float(height)
        segments = []
        for value, css, name in series:
            if _height_of(value) <= 0:
                continue
            h = height * _height_of(value) / tallest
            y -= h
            segments.append(
                Segment(
                    x=n(x),
                    y=n(y),
                    width=n(bar_w),
                    height=n(h),
                    css=css,
                    title=f"{label}: {fmt(value)} {name}",
                )
            )
        stacks.append(Stack(label=label, total=fmt(total), label_x=n(x + bar_w / 2), segments=segments))
    return StackedChart(width=width, height=height, stacks=stacks)


# --- Lines ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    x: str
    y: str
    title: str
    partial: bool = False


@dataclass(frozen=True)
class Series:
    css: str
    name: str
    path: str  # SVG path data; empty when the series has no value
    points: list[Point]
    partial_path: str = ""  # the dashed segment into a period still running (``partial_last``)
    last_label: str = ""  # the latest value, written after the line's end
    last_x: str = "0"
    last_y: str = "0"


@dataclass
class LineChart(Frame):
    series: list[Series] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    *,
    fmt: Formatter,
    y_label: str,
    y_max: float | None = None,
    width: int = 640,
    height: int = 240,
    partial_last: bool = False,
) -> LineChart:
    """Lines over the x labels: ``[(css class, name, values), …]``; a ``None`` value breaks the line.

    ``partial_last``: the last label is a period still running; the segment into it is drawn apart (dashed,
    its point hollow) and its label says "so far", so a young month does not read as a crash."""
    peak = max((_height_of(v) for _, _, values in series for v in values), default=0)
    axis_max, step = (y_max, y_max / 4) if y_max else nice_ceiling(peak)
    left = _left_margin(fmt(axis_max))
    right, top, bottom = width - 56.0, 18.0, height - 30.0
    slot = (right - left) / max(len(labels), 1)
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    out = []
    last = len(labels) - 1
    for css, name, values in series:
        path, points, pen_down = [], [], False
        partial_path, previous = "", ""
        for index, (x, label, value) in enumerate(zip(xs, labels, values, strict=False)):
            if value is None:
                pen_down = False
                continue
            y = bottom - (bottom - top) * (_height_of(value) / axis_max)
            partial = partial_last and index == last
            if partial:
                if pen_down:
                    partial_path = f"M{previous} L{n(x)},{n(y)}"
            else:
                path.append(f"{'L' if pen_down else 'M'}{n(x)},{n(y)}")
            title = f"{name}, {label}{' so far' if partial else ''}: {fmt(value)}"
            points.append(Point(x=n(x), y=n(y), title=title, partial=partial))
            previous, pen_down = f"{n(x)},{n(y)}", True
        last_value = next((v for v in reversed(values) if v is not None), None)
        out.append(
            Series(
                css=css,
                name=name,
                path=" ".join(path),
                points=points,
                partial_path=partial_path,
                last_label=fmt(last_value) if points else "",
                last_x=n(float(points[-1].x) + 8) if points else "0",
                last_y=n(float(points[-1].y) + 4) if points else "0",
            )
        )
    return LineChart(
        width=width,
        height=height,
        plot_left=left,
        plot_top=top,
        plot_right=right,
        plot_bottom=bottom,
        y_label=y_label,
        series=out,
        y_ticks=_ticks(bottom=bottom, plot_h=bottom - top, axis_max=axis_max, step=step, fmt=fmt),
        # A narrow chart labels every other month, so the labels never run into each other.
        x_ticks=[
            Tick(
                pos=n(x),
                label=label if slot >= 30 or (len(labels) - 1 - i) % 2 == 0 else "",
                note=SO_FAR if partial_last and i == last else "",
            )
            for i, (x, label) in enumerate(zip(xs, labels, strict=True))
        ],
    )


# --- Horizontal bars ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HBar:
    y: str
    text_y: str
    width: str
    label: str
    display: str
    title: str
    value_x: str


@dataclass(frozen=True)
class HBarChart:
    width: int
    height: int
    label_width: float
    bar_height: float
    bars: list[HBar]
    x_label: str

    @property
    def viewbox(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def axis_y(self) -> str:
        return n(self.height - 6)

    @property
    def label_x(self) -> str:
        return n(self.label_width - 8)

    @property
    def bar_x(self) -> str:
        return n(self.label_width)

    @property
    def bar_h(self) -> str:
        return n(self.bar_height)


def hbar_chart(
    rows: Sequence[tuple[str, float | None]], *, fmt: Formatter, x_label: str, width: int = 380
) -> HBarChart:
    """Horizontal bars in the order given, with the value written at the end of each bar (at least 1 wide)."""
    label_w, bar_h, gap = 150.0, 22.0, 8.0
    peak = max((_height_of(v) for _, v in rows), default=0) or 1
    room = width - label_w - 40
    bars = []
    for index, (label, value) in enumerate(rows):
        w = max(room * _height_of(value) / peak, 1.0)
        top = 8 + index * (bar_h + gap)
        bars.append(
            HBar(
                y=n(top),
                text_y=n(top + 15),
                width=n(w),
                label=label,
                display=fmt(value),
                title=f"{label}: {fmt(value)}",
                value_x=n(label_w + w + 6),
            )
        )
    return HBarChart(
        width=width,
        height=int(8 + len(rows) * (bar_h + gap) + 26),
        label_width=label_w,
        bar_height=bar_h,
        bars=bars,
        x_label=x_label,
    )


# --- Progress against a target --------------------------------------------------------------------------
@dataclass(frozen=True)
class ProgressBar:
    """A goal's bar: ``fill`` is the value's share of the scale, ``pace`` the expected share by now."""

    width: int
    fill: str
    pace: str  # "" before the period starts: no marker
    target: str
    status: str
    overflow: bool


PROGRESS_SCALE = 1.25  # the bar reaches 125 % of the target, so "above target" stays visible


def progress_bar(ratio: float | None, expected: float, status: str, *, width: int = 400) -> ProgressBar:
    share = 0.0 if ratio is None else max(0.0, float(ratio))
    return ProgressBar(
        width=width,
        fill=n(width * min(share, PROGRESS_SCALE) / PROGRESS_SCALE),
        pace=n(width * min(expected, 1.0) / PROGRESS_SCALE) if expected > 0 else "",
        target=n(width / PROGRESS_SCALE),
        status=status,
        overflow=share > PROGRESS_SCALE,
    )
