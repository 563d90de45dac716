"""Prometheus metrics, one registry per gateway (several may run in one test process).

What every request counts (requests by outcome, stage times, basic requests, requests in
flight) is counted in plain dictionaries and lists on the event loop — a dictionary
update, a bisection — and turned into Prometheus samples only when `/metrics` is
scraped, by collectors of this module. prometheus_client's own `labels().inc()` and
`observe()` take a lock and build label tuples on every call: right for what happens
rarely (purges, assemblies), which keep them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from appserver.server import AppServer

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Tally:
    """A counter family with labels, counted as `tally.add(labels)`; label values come
    from bounded sets (problem slugs, cache results, configured routes, statuses)."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = list(labels)
        self.counts: dict[tuple[str, ...], int] = {}

    def add(self, labels: tuple[str, ...], amount: int = 1) -> None:
        counts = self.counts
        counts[labels] = counts.get(labels, 0) + amount

    def value(self, labels: tuple[str, ...]) -> int:
        return self.counts.get(labels, 0)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, count in list(self.counts.items()):
            family.add_metric(list(labels), count)
        yield family


class Spread:
    """A histogram family with one label, observed as `spread.observe(label, seconds)`:
    the bucket found by bisection, its count and the sum updated."""

    def __init__(self, name: str, documentation: str, label: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.bounds = tuple(float(b) for b in buckets)
        # label -> [count of each bucket (the last is +Inf), the sum]
        self.series: dict[str, list[float]] = {}

    def observe(self, label: str, seconds: float) -> None:
        series = self.series.get(label)
        if series is None:
            series = self.series[label] = [0] * (len(self.bounds) + 1) + [0.0]
        series[bisect_left(self.bounds, seconds)] += 1
        series[-1] += seconds

    def count(self, label: str) -> int:
        series = self.series.get(label)
        return 0 if series is None else int(sum(series[:-1]))

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        for label, series in list(self.series.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*self.bounds, float("inf")), series[:-1], strict=True):
                cumulative += int(count)
                buckets.append((_bound(bound), cumulative))
            family.add_metric([label], buckets, series[-1])
        yield family


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class _Read:
    """A gauge read when scraped."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name = name
        self.documentation = documentation
        self._read = read

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.name, self.documentation, value=self._read())


class _AppServerCollector:
    """Applications and bytes per app server, read when scraped (never stale)."""

    def __init__(self, servers: Callable[[], list[AppServer]]) -> None:
        self._servers = servers

    def collect(self) -> Iterator[Metric]:
        apps = GaugeMetricFamily(
            "igw_applications", "Applications deployed, by app server", labels=["app_server"]
        )
        size = GaugeMetricFamily(
            "igw_application_bytes",
            "Estimated memory of deployed applications, by app server",
            labels=["app_server"],
        )
        for s in self._servers():
            apps.add_metric([s.name], len(s.applications))
            size.add_metric([s.name], s.size_bytes)
        yield apps
        yield size


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Tally(
            "igw_requests",
            "Integration requests by outcome (ok or problem slug) and cache result",
            ["outcome", "cache"],
        )
        self.basic_requests = Tally(
            "igw_basic_requests",
            "Basic (proxied) requests by route and status",
            ["route", "status"],
        )
        self.stage = Spread(
            "igw_stage_seconds", "Time a stage took, by service", "service", LATENCY_BUCKETS
        )
        self.request_time = Spread(
            "igw_request_seconds",
            "Time an integration request took, from its body read to its answer, by cache result",
            "cache",
            LATENCY_BUCKETS,
        )
        self.in_flight = 0  # integration requests
        for collector in (self.requests, self.basic_requests, self.stage, self.request_time):
            r.register(collector)  # type: ignore[arg-type]
        r.register(
            _Read("igw_in_flight", "Integration requests in flight", lambda: self.in_flight)  # type: ignore[arg-type]
        )
        self.assembly = Histogram(
            "igw_assembly_seconds",
            "Time to resolve, type-check and deploy an application",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.purged = Counter("igw_purged_applications", "Applications purged", registry=r)
        self.purged_bytes = Counter(
            "igw_purged_bytes", "Estimated bytes freed by purges", registry=r
        )
        self.scheduler_runs = Counter(
            "igw_purge_runs", "Purge runs by trigger", ["trigger"], registry=r
        )

    def name_node(self, node: str, workers: int) -> None:
        """`igw_node_info{node}`: the node's name, its value the number of workers."""
        info = Gauge(
            "igw_node_info",
            "This node ([gateway] node); the value: its workers",
            ["node"],
            registry=self.registry,
        )
        info.labels(node).set(workers)

    def watch(self, servers: Callable[[], list[AppServer]]) -> None:
        self.registry.register(_AppServerCollector(servers))  # type: ignore[arg-type]

    def render(self) -> bytes:
        return generate_latest(self.registry)
