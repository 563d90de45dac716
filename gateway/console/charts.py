"""Line charts as inline SVG, for the traffic panel: no chart library, no script, nothing
fetched. Plain functions from points to markup; the colours are console.css's classes
(`s0`, `s1`, …), so the page needs no style attribute and the CSP stays strict.

The x axis is time in UTC, the y axis starts at zero and ends at a round number above the
highest value (or at `top`: a ratio's 100 %). A missing value (no request in those 10 s
has a latency) breaks the line rather than drawing a zero.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.console.markup import esc

WIDTH, HEIGHT = 320, 132
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 20  # the plot's margins, for the axes' labels
COLOURS = 6  # s0 … s5 in console.css


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float | None]]  # (seconds since the epoch, value)


def line_chart(
    title: str,
    series: Sequence[Series],
    fmt: Callable[[float], str],
    *,
    top: float | None = None,
) -> str:
    """The chart of `series` over the time their points span; `fmt` labels the y axis."""
    times = [t for s in series for t, _ in s.points]
    values = [v for s in series for _, v in s.points if v is not None]
    if not times:
        return _frame(title, "collecting: the first figures come within 10 s")
    start, end = min(times), max(times)
    ymax = top if top is not None else nice(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (plot_w * (t - start) / (end - start) if end > start else plot_w)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(v, ymax) / ymax)

    parts = [_grid(ymax, fmt, y), _time_axis(start, end)]
    for i, s in enumerate(series):
        runs = _runs(s.points)
        colour = f"s{i % COLOURS}"
        if len(series) == 1:
            for run in runs:
                outline = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
                area = f"{x(run[0][0]):.1f},{y(0):.1f} {outline} {x(run[-1][0]):.1f},{y(0):.1f}"
                parts.append(f'<polygon class="area {colour}" points="{area}"/>')
        for run in runs:
            line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
            parts.append(f'<polyline class="line {colour}" points="{line}"/>')
    return _svg(title, "".join(parts))


def legend(series: Sequence[Series], latest: Callable[[Series], str]) -> str:
    """The series' names by colour, each with its latest value."""
    items = "".join(
        f'<li><span class="swatch s{i % COLOURS}"></span>{esc(s.label)} '
        f"<b>{esc(latest(s))}</b></li>"
        for i, s in enumerate(series)
    )
    return f'<ul class="legend">{items}</ul>'


def nice(value: float) -> float:
    """A round number at least `value` (1, 2 or 5 times a power of ten); 1 for nothing."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return float(step * power)
    return 10.0 * power


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """The points as runs without a missing value."""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((t, v))
    return [run for run in runs if run]


def _grid(ymax: float, fmt: Callable[[float], str], y: Callable[[float], float]) -> str:
    lines = []
    for share in (0.0, 0.5, 1.0):
        at = y(ymax * share)
        lines.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="axis" x="{LEFT - 4}" y="{at + 3.5:.1f}" text-anchor="end">'
            f"{esc(fmt(ymax * share))}</text>"
        )
    return "".join(lines)


def _time_axis(start: float, end: float) -> str:
    base = HEIGHT - 5
    return (
        f'<text class="axis" x="{LEFT}" y="{base}">{clock(start)}</text>'
        f'<text class="axis" x="{WIDTH - RIGHT}" y="{base}" text-anchor="end">'
        f"{clock(end)} UTC</text>"
    )


def clock(at: float) -> str:
    """A time of day in UTC: 14:05:30."""
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _frame(title: str, note: str) -> str:
    return _svg(
        title,
        f'<text class="axis" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
        f"{esc(note)}</text>",
    )


def _svg(title: str, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>{body}</svg>'
    )
