"""Geometry for the server-rendered SVG charts: plain data that the templates draw (no JavaScript).

Every chart carries its own axis ticks and labels, the value of each mark (shown on bars, in ``<title>``
tooltips for points), and a series class that the stylesheet colours with the Okabe-Ito palette.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Formatter = Callable[[Any], str]


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


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    display: str
    title: str
    css: str = "series-1"
    label_y: float = 0.0
    inside: bool = False

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass
class Note:
    x: float
    y: float
    text: str
    title: str = ""


@dataclass
class BarChart:
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    y_label: str
    x_label: str
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    notes: list[Note] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def tick_x(self) -> float:
        return self.plot_left - 6

    @property
    def x_tick_y(self) -> float:
        return self.plot_bottom + 16

    @property
    def x_label_y(self) -> float:
        return self.height - 6

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.plot_left

    @property
    def y_label_x(self) -> float:
        return 14

    @property
    def y_label_y(self) -> float:
        return (self.plot_top + self.plot_bottom) / 2

    @property
    def x_label_x(self) -> float:
        return (self.plot_left + self.plot_right) / 2

    @property
    def empty(self) -> bool:
        return not any(bar.height > 0 for bar in self.bars)


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
    left, right, top, bottom = 64.0, width - 12.0, 24.0, height - (48.0 if x_label else 30.0)
    peak = max((v or 0 for _, series in groups for v, _, _ in series), default=0)
    axis_max, step = nice_ceiling(float(peak))
    plot_h = bottom - top
    slot = (right - left) / max(len(groups), 1)
    per_group = max((len(series) for _, series in groups), default=1)
    bar_w = min(64.0, slot * 0.72 / per_group)
    bars, x_ticks = [], []
    for index, (label, series) in enumerate(groups):
        centre = left + slot * (index + 0.5)
        x_ticks.append(Tick(pos=centre, label=label))
        start = centre - bar_w * len(series) / 2
        for offset, (value, css, name) in enumerate(series):
            h = plot_h * (float(value or 0) / axis_max)
            y = bottom - h
            display = fmt(value)
            inside = h > 22
            bars.append(
                Bar(
                    x=round(start + offset * bar_w + 1, 1),
                    y=round(y, 1),
                    width=round(bar_w - 2, 1),
                    height=round(h, 1),
                    label=label,
                    display=display if values_on_bars else "",
                    title=f"{name}, {label}: {display}",
                    css=css,
                    label_y=round(y + 15 if inside else y - 5, 1),
                    inside=inside,
                )
            )
    ticks = [
        Tick(pos=round(bottom - plot_h * (i * step / axis_max), 1), label=fmt(i * step))
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
    x: float
    y: float
    title: str


@dataclass
class Series:
    css: str
    name: str
    path: str
    points: list[Point]
    last_label: str = ""
    last_x: float = 0.0
    last_y: float = 0.0


@dataclass
class LineChart:
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    y_label: str
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    @property
    def tick_x(self) -> float:
        return self.plot_left - 6

    @property
    def x_tick_y(self) -> float:
        return self.plot_bottom + 16

    @property
    def x_label_y(self) -> float:
        return self.height - 6

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.plot_left

    @property
    def y_label_y(self) -> float:
        return (self.plot_top + self.plot_bottom) / 2

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
    left, right, top, bottom = 64.0, width - 56.0, 18.0, height - 30.0
    peak = max((v or 0 for _, _, values in series for v in values), default=0)
    axis_max, step = (y_max, y_max / 4) if y_max else nice_ceiling(float(peak))
    slot = (right - left) / max(len(labels), 1)
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    out = []
    for css, name, values in series:
        path, points, pen_down = [], [], False
        for x, label, value in zip(xs, labels, values, strict=False):
            if value is None:
                pen_down = False
                continue
            y = bottom - (bottom - top) * (float(value) / axis_max)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            points.append(Point(x=round(x, 1), y=round(y, 1), title=f"{name}, {label}: {fmt(value)}"))
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
                last_x=(last.x + 8) if last else 0.0,
                last_y=(last.y + 4) if last else 0.0,
            )
        )
    ticks = [
        Tick(pos=round(bottom - (bottom - top) * (i * step / axis_max), 1), label=fmt(i * step))
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
        x_ticks=[Tick(pos=round(x, 1), label=label) for x, label in zip(xs, labels, strict=True)],
    )


@dataclass
class HBar:
    y: float
    width: float
    label: str
    display: str
    title: str
    value_x: float


@dataclass
class HBarChart:
    width: int
    height: int
    label_width: float
    bar_height: float
    bars: list[HBar]
    x_label: str

    @property
    def axis_y(self) -> float:
        return self.height - 22


def hbar_chart(
    rows: Sequence[tuple[str, float]], *, fmt: Formatter, x_label: str, width: int = 560
) -> HBarChart:
    """Horizontal bars, largest first, with the value written at the end of each bar."""
    label_w, bar_h, gap = 190.0, 22.0, 8.0
    peak = max((v for _, v in rows), default=0) or 1
    room = width - label_w - 56
    bars = []
    for index, (label, value) in enumerate(rows):
        w = room * float(value) / peak
        bars.append(
            HBar(
                y=8 + index * (bar_h + gap),
                width=round(max(w, 1.0), 1),
                label=label,
                display=fmt(value),
                title=f"{label}: {fmt(value)}",
                value_x=round(label_w + max(w, 1.0) + 6, 1),
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
    fill: float
    pace: float
    target: float
    status: str
    overflow: bool


def progress_bar(ratio: float | None, expected: float, status: str, *, width: int = 400) -> ProgressBar:
    scale = 1.25  # the bar reaches 125 % of the target, so "above target" stays visible
    share = 0.0 if ratio is None else max(0.0, float(ratio))
    return ProgressBar(
        width=width,
        fill=round(width * min(share, scale) / scale, 1),
        pace=round(width * min(expected, 1.0) / scale, 1),
        target=round(width / scale, 1),
        status=status,
        overflow=share > scale,
    )
