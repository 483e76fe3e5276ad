"""Geometry for the server-rendered SVG charts: plain data that the templates draw (no JavaScript).

Every chart carries its own axis ticks and labels, the value of each mark (shown on bars, in ``<title>``
tooltips for points), and a series class that the stylesheet colours with the Okabe-Ito palette.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import mark_safe

Formatter = Callable[[Any], str]


def n(value: float) -> str:
    """A coordinate as text: templates print strings as they are, so no per-number localisation runs."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


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


@dataclass
class Tick:
    pos: str
    label: str


@dataclass
class Bar:
    x: str
    y: str
    width: str
    height: str
    cx: str
    label: str
    display: str
    title: str
    css: str = "series-1"
    label_y: str = "0"
    inside: bool = False
    empty: bool = False

    def __post_init__(self) -> None:
        # Numeric attributes joined once here: the template engine would resolve (and escape) each one.
        self.rect_attrs = mark_safe(  # noqa: S308 - numbers formatted by n()
            f'x="{self.x}" y="{self.y}" width="{self.width}" height="{self.height}"'
        )
        self.text_attrs = mark_safe(f'x="{self.cx}" y="{self.label_y}"')  # noqa: S308 - numbers


@dataclass
class Note:
    x: str
    y: str
    text: str
    title: str = ""


@dataclass
class _Frame:
    """A chart's canvas and plot area, and the coordinates its template needs (as SVG-ready text)."""

    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    y_label: str

    @property
    def tick_x(self) -> str:
        return n(self.plot_left - 6)

    @property
    def x_tick_y(self) -> str:
        return n(self.plot_bottom + 16)

    @property
    def x_label_y(self) -> str:
        return n(self.height - 6)

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
    def viewbox(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def y_label_y(self) -> str:
        return n((self.plot_top + self.plot_bottom) / 2)


@dataclass
class BarChart(_Frame):
    x_label: str
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    notes: list[Note] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def y_label_x(self) -> str:
        return "14"

    @property
    def x_label_x(self) -> str:
        return n((self.plot_left + self.plot_right) / 2)

    @property
    def empty(self) -> bool:
        return all(bar.empty for bar in self.bars)


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
) -> BarChart:
    """Vertical bars, one group per x position: ``[(x label, [(value, css class, tooltip name), …]), …]``."""
    peak = max((v or 0 for _, series in groups for v, _, _ in series), default=0)
    axis_max, step = nice_ceiling(float(peak))
    left = _left_margin(fmt(axis_max))
    right, top, bottom = width - 12.0, 24.0, height - (48.0 if x_label else 30.0)
    plot_h = bottom - top
    slot = (right - left) / max(len(groups), 1)
    per_group = max((len(series) for _, series in groups), default=1)
    bar_w = min(64.0, slot * 0.72 / per_group)
    bars, x_ticks = [], []
    for index, (label, series) in enumerate(groups):
        centre = left + slot * (index + 0.5)
        x_ticks.append(Tick(pos=n(centre), label=label))
        start = centre - bar_w * len(series) / 2
        for offset, (value, css, name) in enumerate(series):
            h = plot_h * (float(value or 0) / axis_max)
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
                    cx=n(x + (bar_w - 2) / 2),
                    empty=h <= 0,
                    label=label,
                    display=display if values_on_bars else "",
                    title=f"{name}, {label}: {display}",
                    css=css,
                    label_y=n(y + 15 if inside else y - 5),
                    inside=inside,
                )
            )
    ticks = [
        Tick(pos=n(bottom - plot_h * (i * step / axis_max)), label=fmt(i * step))
        for i in range(round(axis_max / step) + 1)
    ]
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
        y_ticks=ticks,
        x_ticks=x_ticks,
        legend=list(legend),
    )


@dataclass
class Point:
    x: str
    y: str
    title: str

    def __post_init__(self) -> None:
        self.attrs = mark_safe(f'cx="{self.x}" cy="{self.y}"')  # noqa: S308 - numbers formatted by n()


@dataclass
class Series:
    css: str
    name: str
    path: str
    points: list[Point]
    last_label: str = ""
    last_x: str = "0"
    last_y: str = "0"


@dataclass
class LineChart(_Frame):
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

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
) -> LineChart:
    """Lines over the x labels: ``[(css class, name, values), …]``; a ``None`` value breaks the line."""
    peak = max((v or 0 for _, _, values in series for v in values), default=0)
    axis_max, step = (y_max, y_max / 4) if y_max else nice_ceiling(float(peak))
    left = _left_margin(fmt(axis_max))
    right, top, bottom = width - 56.0, 18.0, height - 30.0
    slot = (right - left) / max(len(labels), 1)
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    out = []
    for css, name, values in series:
        path, points, pen_down, last_xy = [], [], False, (0.0, 0.0)
        for x, label, value in zip(xs, labels, values, strict=False):
            if value is None:
                pen_down = False
                continue
            y = bottom - (bottom - top) * (float(value) / axis_max)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            points.append(Point(x=n(x), y=n(y), title=f"{name}, {label}: {fmt(value)}"))
            last_xy = (x, y)
            pen_down = True
        last = points[-1] if points else None
        last_value = next((v for v in reversed(values) if v is not None), None)
        out.append(
            Series(
                css=css,
                name=name,
                path=" ".join(path),
                points=points,
                last_label=fmt(last_value) if last else "",
                last_x=n(last_xy[0] + 8),
                last_y=n(last_xy[1] + 4),
            )
        )
    ticks = [
        Tick(pos=n(bottom - (bottom - top) * (i * step / axis_max)), label=fmt(i * step))
        for i in range(round(axis_max / step) + 1)
    ]
    return LineChart(
        width=width,
        height=height,
        plot_left=left,
        plot_top=top,
        plot_right=right,
        plot_bottom=bottom,
        y_label=y_label,
        series=out,
        y_ticks=ticks,
        # A narrow chart labels every other month, so the labels never run into each other.
        x_ticks=[
            Tick(pos=n(x), label=label if slot >= 30 or (len(labels) - 1 - i) % 2 == 0 else "")
            for i, (x, label) in enumerate(zip(xs, labels, strict=True))
        ],
    )


@dataclass
class HBar:
    y: str
    text_y: str
    width: str
    label: str
    display: str
    title: str
    value_x: str


@dataclass
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


def hbar_chart(
    rows: Sequence[tuple[str, float]], *, fmt: Formatter, x_label: str, width: int = 380
) -> HBarChart:
    """Horizontal bars, largest first, with the value written at the end of each bar."""
    label_w, bar_h, gap = 150.0, 22.0, 8.0
    peak = max((v for _, v in rows), default=0) or 1
    room = width - label_w - 40
    bars = []
    for index, (label, value) in enumerate(rows):
        w = room * float(value) / peak
        bars.append(
            HBar(
                y=n(8 + index * (bar_h + gap)),
                text_y=n(8 + index * (bar_h + gap) + 15),
                width=n(max(w, 1.0)),
                label=label,
                display=fmt(value),
                title=f"{label}: {fmt(value)}",
                value_x=n(label_w + max(w, 1.0) + 6),
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


@dataclass
class ProgressBar:
    """A goal's bar: ``fill`` is the value's share of the scale, ``pace`` the expected share by now."""

    width: int
    fill: str
    pace: str
    target: str
    status: str
    overflow: bool


def progress_bar(ratio: float | None, expected: float, status: str, *, width: int = 400) -> ProgressBar:
    scale = 1.25  # the bar reaches 125 % of the target, so "above target" stays visible
    share = 0.0 if ratio is None else max(0.0, float(ratio))
    return ProgressBar(
        width=width,
        fill=n(width * min(share, scale) / scale),
        pace=n(width * min(expected, 1.0) / scale) if expected > 0 else "",
        target=n(width / scale),
        status=status,
        overflow=share > scale,
    )
