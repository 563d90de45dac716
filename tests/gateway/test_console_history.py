"""The console's traffic history: a snapshot read from Prometheus text, the intervals
between snapshots, the quantiles of a histogram's buckets, and the SVG charts drawn of
them."""

from __future__ import annotations

import pytest

from gateway.console.charts import Series, line_chart, nice
from gateway.console.history import History, Snapshot, intervals, quantile, snapshot
from gateway.console.traffic_view import traffic_panel
from gateway.metrics import Metrics

TEXT = """\
# TYPE igw_requests counter
igw_requests_total{outcome="ok",cache="hit"} 90
igw_requests_total{outcome="ok",cache="miss"} 6
igw_requests_total{outcome="service-not-found",cache="none"} 3
igw_requests_total{outcome="stage-failed",cache="hit"} 1
# TYPE igw_request_seconds histogram
igw_request_seconds_bucket{cache="hit",le="0.001"} 50
igw_request_seconds_bucket{cache="hit",le="0.01"} 80
igw_request_seconds_bucket{cache="hit",le="+Inf"} 80
igw_request_seconds_count{cache="hit"} 80
igw_request_seconds_sum{cache="hit"} 0.2
igw_request_seconds_bucket{cache="miss",le="0.001"} 0
igw_request_seconds_bucket{cache="miss",le="0.01"} 20
igw_request_seconds_bucket{cache="miss",le="+Inf"} 20
igw_request_seconds_count{cache="miss"} 20
igw_request_seconds_sum{cache="miss"} 0.1
# TYPE igw_assembly_seconds histogram
igw_assembly_seconds_count 6
# TYPE igw_purged_applications counter
igw_purged_applications_total 2
# TYPE igw_applications gauge
igw_applications{app_server="as0"} 3
igw_applications{app_server="as1"} 1
"""


def test_a_snapshot_sums_the_counters_over_labels_and_services():
    s = snapshot(TEXT, at=100.0)
    assert (s.requests, s.hits) == (100, 91)
    assert s.problems == {"service-not-found": 3, "stage-failed": 1}
    assert s.request_buckets == ((0.001, 50), (0.01, 100), (float("inf"), 100))
    assert (s.assemblies, s.purged, s.applications) == (6, 2, 4)


def test_a_snapshot_of_the_gateways_own_metrics_reads():
    metrics = Metrics()
    metrics.requests.add(("ok", "hit"), 5)
    metrics.stage.observe("validator@1.0.0", 0.002)  # a stage's time is not a request's
    metrics.request_time.observe("hit", 0.003)
    s = snapshot(metrics.render().decode(), at=1.0)
    assert (s.requests, s.hits) == (5, 5) and s.request_buckets[-1] == (float("inf"), 1)


def test_an_interval_is_the_difference_of_two_snapshots():
    a = Snapshot(at=0, requests=100, hits=50, problems={"syntax": 4}, assemblies=3, purged=1)
    b = Snapshot(at=10, requests=300, hits=200, problems={"syntax": 14, "no-route": 5},
                 assemblies=5, purged=1, applications=7)  # fmt: skip
    [span] = intervals([a, b])
    assert span.request_rate == 20 and span.hit_ratio == 0.75
    assert span.problem_rates == {"syntax": 1.0, "no-route": 0.5}
    assert (span.assemblies, span.purged, span.applications) == (2, 0, 7)
    assert span.p50 is None and span.p99 is None  # no request was timed


def test_a_counter_that_went_down_counts_from_zero():
    a, b = Snapshot(at=0, requests=1000, hits=1000), Snapshot(at=10, requests=40, hits=20)
    [span] = intervals([a, b])
    assert span.request_rate == 4 and span.hit_ratio == 0.5


def test_no_request_has_no_hit_ratio():
    [span] = intervals([Snapshot(at=0, requests=5), Snapshot(at=10, requests=5)])
    assert span.request_rate == 0 and span.hit_ratio is None


def test_quantiles_interpolate_within_their_bucket_as_prometheus():
    buckets = [(0.001, 50.0), (0.01, 100.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.001)
    assert quantile(0.75, buckets) == pytest.approx(0.0055)
    assert quantile(0.25, buckets) == pytest.approx(0.0005)
    assert quantile(0.99, [(0.001, 0.0), (float("inf"), 10.0)]) == 0.001  # the last bound
    assert quantile(0.5, [(0.001, 0.0), (float("inf"), 0.0)]) is None


def test_request_quantiles_come_from_the_buckets_of_the_interval_alone():
    a = Snapshot(at=0, request_buckets=((0.001, 1000.0), (0.01, 1000.0), (float("inf"), 1000.0)))
    b = Snapshot(at=10, request_buckets=((0.001, 1000.0), (0.01, 1010.0), (float("inf"), 1010.0)))
    [span] = intervals([a, b])
    assert 0.001 < span.p50 <= 0.01  # the old fast ones do not count


def test_the_history_keeps_the_newest():
    history = History(keep=3)
    for at in range(5):
        history.add(Snapshot(at=at, requests=at))
    assert [s.at for s in history] == [2, 3, 4]
    assert [i.at for i in history.intervals()] == [3, 4]


def test_nice_rounds_up_to_one_two_or_five():
    assert [nice(v) for v in (0, 0.7, 1, 1.2, 3, 7, 42, 0.0021)] == [1, 1, 1, 2, 5, 10, 50, 0.005]


def test_a_chart_breaks_its_line_where_a_value_is_missing():
    chart = line_chart("p50", [Series("p50", [(0, 1.0), (1, None), (2, 2.0), (3, 3.0)])], str)
    assert chart.count("<polyline") == 2 and chart.startswith('<svg class="chart"')


def test_a_chart_escapes_its_labels():
    chart = line_chart("<b>", [Series("x", [(0, 1.0), (1, 2.0)])], lambda v: "<i>")
    assert "<b>" not in chart and "<i>" not in chart and "&lt;i&gt;" in chart


def test_without_samples_the_panel_says_it_is_collecting():
    panel = traffic_panel([])
    assert panel.count('<svg class="chart"') == 6 and "collecting" in panel
