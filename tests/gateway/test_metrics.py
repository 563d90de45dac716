"""The metrics counted on the hit path (plain dicts, collected when scraped) come out as
Prometheus samples that a scraper parses, with the same names and labels as before."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import LATENCY_BUCKETS, Metrics


def families(metrics: Metrics) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            out.setdefault(family.name, {})[(sample.name, labels)] = sample.value
    return out


def test_request_counts_by_outcome_and_cache():
    m = Metrics()
    m.requests.add(("ok", "hit"))
    m.requests.add(("ok", "hit"))
    m.requests.add(("service-not-found", "none"))
    got = families(m)["igw_requests"]
    assert got[("igw_requests_total", (("cache", "hit"), ("outcome", "ok")))] == 2
    assert got[("igw_requests_total", (("cache", "none"), ("outcome", "service-not-found")))] == 1


def test_stage_times_are_a_cumulative_histogram_with_its_sum_and_count():
    m = Metrics()
    for seconds in (0.0001, 0.0007, 0.003, 0.003, 42.0):
        m.stage.observe("validator", seconds)
    got = families(m)["igw_stage_seconds"]
    bucket = {
        dict(labels)["le"]: value
        for (name, labels), value in got.items()
        if name == "igw_stage_seconds_bucket"
    }
    assert bucket["0.0005"] == 1 and bucket["0.001"] == 2 and bucket["0.005"] == 4
    assert bucket["10.0"] == 4 and bucket["+Inf"] == 5
    assert len(bucket) == len(LATENCY_BUCKETS) + 1
    service = (("service", "validator"),)
    assert got[("igw_stage_seconds_count", service)] == 5
    assert abs(got[("igw_stage_seconds_sum", service)] - 42.0068) < 1e-9
    assert m.stage.count("validator") == 5


def test_a_bound_itself_falls_in_its_bucket():
    m = Metrics()
    m.stage.observe("x", 0.001)
    got = families(m)["igw_stage_seconds"]
    assert got[("igw_stage_seconds_bucket", (("le", "0.0005"), ("service", "x")))] == 0
    assert got[("igw_stage_seconds_bucket", (("le", "0.001"), ("service", "x")))] == 1


def test_in_flight_is_read_when_scraped_and_basic_requests_are_counted():
    m = Metrics()
    m.in_flight = 3
    m.basic_requests.add(("/legacy", "200"))
    got = families(m)
    assert got["igw_in_flight"][("igw_in_flight", ())] == 3
    assert (
        got["igw_basic_requests"][
            ("igw_basic_requests_total", (("route", "/legacy"), ("status", "200")))
        ]
        == 1
    )
