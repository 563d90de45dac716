"""Purge cost: 100,000 applications purged while a ticker measures event-loop stalls.

    .venv/bin/python bench/purge.py [--apps 100000] [--rounds 3] [--servers 1]

Builds the applications cheaply — `Application` objects made directly with a tiny stage,
no HTTP — in a real `ApplicationList`. A ticker task asks for a 1 ms sleep again and
again; a stall is how much later than asked it wakes (what a request arriving at that
moment would wait: about two turns of the loop). Round by round, so that drift on a
noisy machine hits all alike:

- floor:        the ticker alone, for as long as the sliced purge took (the machine)
- idle sliced:  every application idle for an hour, `ApplicationList.purge` with
                `max_idle_s` 60 (selection and removal in time-boxed slices), then the
                closing of all of them
- idle one-go:  the same selection in one call (`select`) and removal in one call
                (`remove`), then the same closing: what slicing buys
- lru sliced:   every application used within the last second, in shuffled order,
                purged down to `max_apps` 10: least recently used first
- lru one-go:   the same, in one call each

A purge's report is kept out of the measurement and costed on its own: rendering it as
JSON and freeing it (the last references to 100,000 keys) is its caller's work, done in
one go by the admin API. Prints, for each, the total time, the worst stall and the 99th
percentile stall (median over rounds), then ratios: sliced against the floor and
against one-go for stalls, and sliced against one-go for total time (the price of the
turns given to the loop).

A stall is about two turns of the loop: the timer's callback sets the sleep's future in
one turn, the ticker wakes in the next. The slices are 1 ms; the longest turns left are
the GC's young collections while the purge's snapshot of 100,000 is young (4-8 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appserver.application import Application  # noqa: E402
from appserver.plan import Plan, PlannedStage  # noqa: E402
from appserver.purge import PurgePolicy, select  # noqa: E402
from appserver.server import AppServer  # noqa: E402
from gateway.applist import ApplicationList, Clock, PurgeReport  # noqa: E402
from igwcore.message import Message, RequestContext  # noqa: E402
from repository.entry import ServiceEntry  # noqa: E402

TICK_S = 0.001
HOUR_NS = 3600 * 10**9
IDLE = PurgePolicy(max_idle_s=60, on_deploy=False)
LRU_KEEP = 10
LRU = PurgePolicy(max_idle_s=3600, max_apps=LRU_KEEP, on_deploy=False)

ENTRY = ServiceEntry(
    id="tiny@1.0.0",
    name="tiny",
    version="1.0.0",
    description="passes its message on",
    kind="python",
    params={},
    input=("*/*",),
    output="same",
    converter=False,
    target={"callable": "bench.purge:tiny"},
    enabled=True,
)


class TinyStage:
    def __init__(self) -> None:
        self.entry = ENTRY

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        return message

    def size_bytes(self) -> int:
        return 64

    async def close(self) -> None:
        return None


async def build(n: int, servers: int, *, recent: bool) -> ApplicationList:
    """`n` applications, idle for an hour, or (`recent`) used within the last second in
    an order unlike their deployment's."""
    hosts = [AppServer(f"as{i}", "bench", None) for i in range(servers)]  # type: ignore[arg-type]
    apps = ApplicationList(hosts, IDLE, Clock())
    planned = (PlannedStage("tiny", ENTRY),)
    stage = TinyStage()
    now = time.time_ns()
    for i in range(n):
        plan = Plan(f"tiny(n={i})", f"{i:032x}", planned, ("*/*",), "same")
        used = now - 10**9 + (i * 7919) % n if recent else now - HOUR_NS
        host = hosts[i % servers].name
        await apps.add(Application(plan, [stage], app_server=host, node="bench", now_ns=used))
    return apps


class Ticker:
    """Measures how late each 1 ms sleep wakes while it runs."""

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self._running = True

    async def run(self) -> None:
        while self._running:
            asked = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.stalls.append(max(0.0, time.perf_counter() - asked - TICK_S))

    def stop(self) -> None:
        self._running = False


async def measured(work: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    """(total s, worst stall s, p99 stall s) of `work` with the ticker beside it."""
    gc.collect()
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.01)  # the ticker is ticking
    started = time.perf_counter()
    await work()
    total = time.perf_counter() - started
    ticker.stop()
    await task
    stalls = sorted(ticker.stalls) or [0.0]
    return total, stalls[-1], stalls[int(0.99 * (len(stalls) - 1))]


# Reports kept out of the measurement: freeing one frees the last references to 100,000
# keys, the caller's cost (measured on its own, with rendering it as JSON).
REPORTS: list[PurgeReport] = []


async def sliced(apps: ApplicationList, policy: PurgePolicy, left: int) -> None:
    report = await apps.purge(policy, trigger="request")
    await apps.wait_closed()
    assert report.remaining == left == len(apps), report.remaining
    REPORTS.append(report)


def report_cost() -> tuple[float, float]:
    """(s to render the last report as JSON, s to free it), as the admin API would."""
    report = REPORTS.pop()
    REPORTS.clear()
    started = time.perf_counter()
    json.dumps(report.to_json())
    rendered = time.perf_counter()
    del report
    return rendered - started, time.perf_counter() - rendered


async def one_go(apps: ApplicationList, policy: PurgePolicy, left: int) -> None:
    keys = select(apps.candidates(), policy, apps.clock.now_ns())
    apps.remove(keys)
    await apps.wait_closed()
    assert len(apps) == left, len(apps)
    REPORTS.append(PurgeReport(keys, 0, left))


Result = tuple[float, float, float]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apps", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--servers", type=int, default=1)
    args = ap.parse_args()
    n, servers = args.apps, args.servers
    lru_left = min(n, LRU_KEEP * servers)
    names = ["floor", "idle sliced", "idle one-go", "lru sliced", "lru one-go"]
    results: dict[str, list[Result]] = {name: [] for name in names}
    started = time.perf_counter()
    await build(n, servers, recent=False)
    print(f"building {n} applications takes {time.perf_counter() - started:.2f} s")
    for round in range(1, args.rounds + 1):
        apps = await build(n, servers, recent=False)
        results["idle sliced"].append(await measured(lambda: sliced(apps, IDLE, 0)))  # noqa: B023
        rendering, freeing = report_cost()
        took = results["idle sliced"][-1][0]
        results["floor"].append(await measured(lambda: asyncio.sleep(took)))  # noqa: B023
        apps = await build(n, servers, recent=False)
        results["idle one-go"].append(await measured(lambda: one_go(apps, IDLE, 0)))  # noqa: B023
        apps = await build(n, servers, recent=True)
        lru = await measured(lambda: sliced(apps, LRU, lru_left))  # noqa: B023
        results["lru sliced"].append(lru)
        apps = await build(n, servers, recent=True)
        lru = await measured(lambda: one_go(apps, LRU, lru_left))  # noqa: B023
        results["lru one-go"].append(lru)
        REPORTS.clear()
        print(
            f"round {round}: worst stalls "
            + ", ".join(f"{name} {r[-1][1] * 1000:.1f} ms" for name, r in results.items())
            + f"; the report of {n} keys: {rendering * 1000:.1f} ms to render as JSON, "
            f"{freeing * 1000:.1f} ms to free"
        )
    median = {
        name: tuple(statistics.median(r[i] for r in rounds) for i in range(3))
        for name, rounds in results.items()
    }
    print(f"\n{n} applications on {servers} app server(s), median of {args.rounds} rounds")
    print(f"{'':12} {'total ms':>9} {'worst stall ms':>15} {'p99 stall ms':>13}")
    for name, (total, worst, p99) in median.items():
        print(f"{name:12} {total * 1000:9.1f} {worst * 1000:15.2f} {p99 * 1000:13.2f}")
    floor = median["floor"]
    print()
    for kind in ("idle", "lru"):
        s, o = median[f"{kind} sliced"], median[f"{kind} one-go"]
        print(
            f"{kind}: worst stall sliced / floor = {s[1] / floor[1]:.1f}x, "
            f"one-go / sliced = {o[1] / s[1]:.0f}x; "
            f"p99 stall sliced / floor = {s[2] / floor[2]:.1f}x; "
            f"total time sliced / one-go = {s[0] / o[0]:.2f}x"
        )


if __name__ == "__main__":
    asyncio.run(main())
