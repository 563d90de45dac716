"""The console's traffic panel: six charts of the node's last hour (`history`), each with
its latest figure in large type, for an operator who would rather look than read.

Latency is the integration requests' (`igw_request_seconds`, every cache result's
buckets summed): from the body read to the answer, stages and the gateway's own work
alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.console.charts import Series, legend, line_chart
from gateway.console.history import INTERVAL_S, Interval
from gateway.console.markup import esc

PROBLEMS_SHOWN = 5  # the most frequent problem types; the rest are "other"


def traffic_panel(spans: Sequence[Interval]) -> str:
    cards = (
        _requests(spans),
        _hit_ratio(spans),
        _problems(spans),
        _latency(spans),
        _churn(spans),
        _deployed(spans),
    )
    return f'<div class="traffic" id="traffic">{"".join(cards)}</div>'


def _requests(spans: Sequence[Interval]) -> str:
    rate = Series("requests a second", [(s.at, s.request_rate) for s in spans])
    return _card(
        "requests",
        "Requests",
        _latest(rate, per_second),
        line_chart("Requests a second", [rate], per_second),
    )


def _hit_ratio(spans: Sequence[Interval]) -> str:
    ratio = Series(
        "hit ratio",
        [(s.at, None if s.hit_ratio is None else s.hit_ratio * 100) for s in spans],
    )
    chart = line_chart("Hit ratio, per cent", [ratio], percent, top=100.0)
    return _card("hit-ratio", "Hit ratio", _latest(ratio, percent), chart)


def _problems(spans: Sequence[Interval]) -> str:
    totals: dict[str, float] = {}
    for s in spans:
        for slug, rate in s.problem_rates.items():
            totals[slug] = totals.get(slug, 0.0) + rate
    ranked = sorted((slug for slug, n in totals.items() if n > 0), key=lambda k: -totals[k])
    shown, rest = ranked[:PROBLEMS_SHOWN], set(ranked[PROBLEMS_SHOWN:])
    series = [
        Series(slug, [(s.at, s.problem_rates.get(slug, 0.0)) for s in spans]) for slug in shown
    ]
    if rest:
        series.append(
            Series("other", [(s.at, sum(s.problem_rates.get(k, 0.0) for k in rest)) for s in spans])
        )
    all_problems = Series("problems", [(s.at, sum(s.problem_rates.values())) for s in spans])
    chart = line_chart("Problems a second, by type", series or [all_problems], per_second)
    key = (
        legend(series, lambda s: _latest(s, per_second))
        if series
        else ('<p class="help">no problem answered in this hour</p>')
    )
    return _card(
        "problems", "Errors by problem type", _latest(all_problems, per_second), chart + key
    )


def _latency(spans: Sequence[Interval]) -> str:
    p50 = Series("p50", [(s.at, s.p50) for s in spans])
    p99 = Series("p99", [(s.at, s.p99) for s in spans])
    figure = f"{_latest(p50, duration)} · {_latest(p99, duration)}"
    chart = line_chart("Request time p50 and p99", [p50, p99], duration)
    return _card(
        "latency",
        "Request time p50 / p99",
        figure,
        chart + legend([p50, p99], lambda s: _latest(s, duration)),
    )


def _churn(spans: Sequence[Interval]) -> str:
    per = f"per {INTERVAL_S:g} s"
    made = Series(f"assemblies {per}", [(s.at, s.assemblies) for s in spans])
    purged = Series(f"purged {per}", [(s.at, s.purged) for s in spans])
    total = sum(s.assemblies for s in spans), sum(s.purged for s in spans)
    figure = f"{total[0]:,.0f} · {total[1]:,.0f}"
    chart = line_chart("Assemblies and purged applications", [made, purged], whole)
    key = legend([made, purged], lambda s: _latest(s, whole))
    return _card("churn", "Assembled · purged, 1 h", figure, chart + key)


def _deployed(spans: Sequence[Interval]) -> str:
    apps = Series("applications", [(s.at, s.applications) for s in spans])
    chart = line_chart("Applications deployed", [apps], whole)
    return _card("deployed", "Applications deployed", _latest(apps, whole), chart)


def _card(id: str, title: str, figure: str, body: str) -> str:
    return (
        f'<section class="card" id="chart-{id}"><h3>{esc(title)}</h3>'
        f'<p class="figure">{esc(figure)}</p>{body}</section>'
    )


def _latest(series: Series, fmt: Callable[[float], str]) -> str:
    for _, value in reversed(series.points):
        if value is not None:
            return fmt(value)
    return "–"


def per_second(value: float) -> str:
    if value == 0:
        return "0/s"
    return f"{value:.3g}/s" if value < 100 else f"{value:,.0f}/s"


def percent(value: float) -> str:
    return f"{value:.0f} %" if value in (0, 100) or value >= 10 else f"{value:.1f} %"


def duration(seconds: float) -> str:
    if seconds == 0:
        return "0"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def whole(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
