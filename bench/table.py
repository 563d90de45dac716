"""The one table `python -m bench` prints: a row a figure, with its baseline beside it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure. `ratio` is how the gateway compares with the baseline, written so that
    1.00 means "as good" and more is better (req/s: gateway ÷ baseline; a time:
    baseline ÷ gateway); None where a difference says more (added latency)."""

    group: str
    label: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        base = "" if self.baseline is None else f"{number(self.baseline)} {self.baseline_label}"
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}"
        verdict = {True: "met", False: "NOT MET", None: ""}[self.met]
        target = f"{self.target} {verdict}".strip()
        return [self.label, f"{number(self.value)} {self.unit}", base.strip(), ratio, target]


def number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


HEADS = ["figure", "gateway", "baseline", "ratio", "target"]


def render(rows: Iterable[Row], *, markdown: bool = False) -> str:
    rows = list(rows)
    lines: list[str] = []
    if markdown:
        lines.append("| " + " | ".join(HEADS) + " |")
        lines.append("|" + "|".join(" --- " for _ in HEADS) + "|")
        group = None
        for row in rows:
            if row.group != group:
                group = row.group
                title = group.replace("|", "\\|")
                lines.append(f"| **{title}** |" + " |" * (len(HEADS) - 1))
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |")
        return "\n".join(lines)
    table = [HEADS] + [row.cells() for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADS))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines.append(line(HEADS))
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append(f"-- {group}")
        lines.append(line(row.cells()))
    return "\n".join(lines)
