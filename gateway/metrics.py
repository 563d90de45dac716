"""Prometheus metrics, one registry per gateway (several may run in one test process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from appserver.server import AppServer

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _AppServerCollector:
    """Applications and bytes per app server, read when scraped (never stale)."""

    def __init__(self, servers: Callable[[], list[AppServer]]) -> None:
        self._servers = servers

    def collect(self):  # type: ignore[no-untyped-def]
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
        self.requests = Counter(
            "igw_requests",
            "Integration requests by outcome (ok or problem slug) and cache result",
            ["outcome", "cache"],
            registry=r,
        )
        self.basic_requests = Counter(
            "igw_basic_requests",
            "Basic (proxied) requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.assembly = Histogram(
            "igw_assembly_seconds",
            "Time to resolve, type-check and deploy an application",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "igw_stage_seconds",
            "Time a stage took, by service",
            ["service"],
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
        self.in_flight = Gauge("igw_in_flight", "Integration requests in flight", registry=r)

    def watch(self, servers: Callable[[], list[AppServer]]) -> None:
        self.registry.register(_AppServerCollector(servers))  # type: ignore[arg-type]

    def render(self) -> bytes:
        return generate_latest(self.registry)
