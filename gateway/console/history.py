"""The console's traffic history: the node's own counters, sampled every 10 s for an hour.

A sample is read from `Gateway.metrics_text()`, the node's Prometheus text (summed over the
workers with `[gateway] workers` > 1: the console runs in the supervisor then, whose own
request counters are zero), so one process and a node of workers are sampled alike, and
nothing is counted twice on the request path. What the traffic panel draws are the
differences between consecutive samples: a rate, a ratio, the quantiles of the requests'
histogram over those 10 s. A counter that went down (a worker started again) counts from
zero, as Prometheus' `rate` does.

`snapshot` and `intervals` are plain functions over plain data; `Sampler` is the shell that
reads the text on a timer, started and stopped with the admin app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise

from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("integration_gateway.admin")

INTERVAL_S = 10.0
KEEP = 360  # an hour of samples at INTERVAL_S


@dataclass(frozen=True)
class Snapshot:
    """The node's counters at `at` (seconds since the epoch), as read from its metrics."""

    at: float
    requests: float = 0.0
    hits: float = 0.0
    problems: Mapping[str, float] | None = None  # problem slug -> requests
    request_buckets: tuple[
        tuple[float, float], ...
    ] = ()  # (le, cumulative count), every cache result
    assemblies: float = 0.0
    purged: float = 0.0
    applications: float = 0.0


@dataclass(frozen=True)
class Interval:
    """What happened between two snapshots; None where there was nothing to measure."""

    at: float  # the interval's end
    seconds: float
    request_rate: float  # requests a second
    hit_ratio: float | None  # of the requests, those answered by a deployed application
    problem_rates: Mapping[str, float]  # problem slug -> requests a second
    p50: float | None  # seconds a stage took
    p99: float | None
    assemblies: float
    purged: float
    applications: float  # deployed at the end


def snapshot(text: str, at: float) -> Snapshot:
    """The counters the panel draws, from Prometheus text exposition."""
    requests = hits = assemblies = purged = applications = 0.0
    problems: dict[str, float] = {}
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "igw_requests_total":
                requests += value
                hits += value if labels.get("cache") == "hit" else 0.0
                if labels.get("outcome", "ok") != "ok":
                    slug = labels["outcome"]
                    problems[slug] = problems.get(slug, 0.0) + value
            elif name == "igw_request_seconds_bucket":
                le = float(labels["le"])
                buckets[le] = buckets.get(le, 0.0) + value
            elif name == "igw_assembly_seconds_count":
                assemblies += value
            elif name == "igw_purged_applications_total":
                purged += value
            elif name == "igw_applications":
                applications += value
    return Snapshot(
        at=at,
        requests=requests,
        hits=hits,
        problems=problems,
        request_buckets=tuple(sorted(buckets.items())),
        assemblies=assemblies,
        purged=purged,
        applications=applications,
    )


def intervals(snapshots: list[Snapshot]) -> list[Interval]:
    """The difference of each snapshot from the one before it."""
    return [_between(a, b) for a, b in pairwise(snapshots)]


def _between(a: Snapshot, b: Snapshot) -> Interval:
    seconds = max(b.at - a.at, 1e-9)
    requests = _delta(b.requests, a.requests)
    before, after = a.problems or {}, b.problems or {}
    earlier = dict(a.request_buckets)
    timed = [(le, _delta(n, earlier.get(le, 0.0))) for le, n in b.request_buckets]
    return Interval(
        at=b.at,
        seconds=seconds,
        request_rate=requests / seconds,
        hit_ratio=_delta(b.hits, a.hits) / requests if requests else None,
        problem_rates={
            slug: _delta(n, before.get(slug, 0.0)) / seconds for slug, n in after.items()
        },
        p50=quantile(0.5, timed),
        p99=quantile(0.99, timed),
        assemblies=_delta(b.assemblies, a.assemblies),
        purged=_delta(b.purged, a.purged),
        applications=b.applications,
    )


def _delta(now: float, before: float) -> float:
    """A counter's increase; one that went down was started again, from zero."""
    return now - before if now >= before else now


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of a histogram's cumulative buckets `(le, count)`, interpolated
    within its bucket as Prometheus' `histogram_quantile` does; None without observations.
    (Each bucket's delta is cumulative still: a difference of cumulative counts.)"""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower  # past the highest finite bound: that bound, as Prometheus
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (le - lower) * share
        lower, below = le, count
    return lower


class History:
    """The last KEEP snapshots, oldest first."""

    def __init__(self, keep: int = KEEP) -> None:
        self._snapshots: deque[Snapshot] = deque(maxlen=keep)

    def add(self, snap: Snapshot) -> None:
        self._snapshots.append(snap)

    def __iter__(self) -> Iterator[Snapshot]:
        return iter(list(self._snapshots))

    def intervals(self) -> list[Interval]:
        return intervals(list(self._snapshots))


class Sampler:
    """Reads the node's metrics into a History every INTERVAL_S, on the admin app's loop."""

    def __init__(self, read: Callable[[], Awaitable[bytes]], history: History) -> None:
        self._read = read
        self.history = history
        self._task: asyncio.Task[None] | None = None

    async def sample(self) -> None:
        text = (await self._read()).decode()
        self.history.add(snapshot(text, time.time()))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except ValueError as e:  # text the parser refuses: this sample is skipped
                log.warning("the console's traffic sample failed: %s", e)
            await asyncio.sleep(INTERVAL_S)
