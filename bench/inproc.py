"""Rows measured in this process, on the gateway's own objects (no HTTP):

- header -> key, for the seed's example header: uncached (`Gateway.parse_uncached`) beside
  the full reader the issue measured (bench.machine), and cached (the header cache's
  hit) beside a plain dict's `get`;
- cold assembly of 1-, 5- and 20-stage pipes of built-ins (resolution, type check,
  deployment, hosting: `Gateway.application` on a key never seen), beside making the
  same stage objects by hand;
- application list lookups at 1k, 100k and 1M applications, beside a plain dict of the
  same keys, and the list's bytes an application besides the application itself;
- resolution of a three-stage pipe against a repository of 100,000 entries, beside the
  same against the built-ins alone.

Each timing is the best of several repeats of a timed loop (the least disturbed by the
machine), in µs (or ns) an operation.
"""

from __future__ import annotations

import asyncio
import gc
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appserver.application import Application
from appserver.plan import Plan, PlannedStage
from appserver.purge import PurgePolicy
from appserver.server import AppServer
from assembler.assemble import build_plan
from bench import machine
from bench.table import Row
from gateway.applist import ApplicationList, Clock
from gateway.config import from_dict
from gateway.runtime import Gateway
from igwcore.message import Message, RequestContext
from repository.builtins import JsonToXml, Logger, Validator, XmlToJson
from repository.entry import ServiceEntry

SEED_HEADER = machine.SEED_HEADER


def best(fn: Callable[[], Any], number: int, repeat: int = 5) -> float:
    """Seconds a call of `fn`: the best of `repeat` loops of `number` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - started) / number)
    return min(times)


def inproc_rows(*, smoke: bool) -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="igw-bench-"))
    rows = _header_rows(folder, smoke)
    rows += asyncio.run(_assembly_rows(folder, smoke))
    rows += asyncio.run(_lookup_rows(smoke))
    rows += _resolution_rows(folder, smoke)
    return rows


def _gateway(folder: Path, repository: str = "repo.db") -> Gateway:
    config = from_dict(
        {
            "repository": {"path": str(folder / repository)},
            "purge": {"interval_s": 0, "on_deploy": False, "max_apps": 10_000_000},
            "services": {"logger": {"dir": str(folder / "log")}},
        },
        base_dir=folder,
    )
    return Gateway(config)


# -- header -> key ---------------------------------------------------------------------------


def _header_rows(folder: Path, smoke: bool) -> list[Row]:
    gw = _gateway(folder)
    n = 200 if smoke else 20_000
    try:
        assert gw.parse_uncached(SEED_HEADER).key == machine.full_reader()
        uncached = best(lambda: gw.parse_uncached(SEED_HEADER), n) * 1e6
        full = best(machine.full_reader, n) * 1e6
        gw.parse(SEED_HEADER)
        cached = best(lambda: gw.parse(SEED_HEADER), n * 10) * 1e6
        plain = {SEED_HEADER: object()}
        dict_get = best(lambda: plain.get(SEED_HEADER), n * 10) * 1e6
    finally:
        gw.env.close()
        gw.repository.close()
    group = "header -> key (the seed's example header)"
    # Judged by its own baseline: the full reader took 13.5 µs on the machine.
    there = machine.REFERENCE_US * uncached / full
    cached_target, cached_limit = machine.target(1, "µs")
    return [
        Row(group, "uncached: parse, canonical form, xxh3_128", uncached, "µs", full,
            "µs the full reader", full / uncached, f"<= 10 µs (there: {there:.1f})",
            there <= 10),
        Row(group, "cached: the header cache's hit", cached, "µs", dict_get, "µs dict.get",
            dict_get / cached, cached_target, cached <= cached_limit),
    ]  # fmt: skip


# -- cold assembly --------------------------------------------------------------------------


def _pipe(stages: int, i: int) -> str:
    if stages == 1:
        return f"json_to_xml(root=r{i})"
    if stages == 5:
        return (
            f"logger(level=INFO) | validator | json_to_xml(root=r{i}) | xml_to_json"
            " | logger(level=DEBUG)"
        )
    cycle = [
        "validator",
        "json_to_xml(root=r{i}x{k})",
        "xml_to_json",
        "logger(level=INFO)",
    ]
    return " | ".join(cycle[s % 4].format(i=i, k=s) for s in range(stages))


def _by_hand(stages: int, isolation: Any, settings: dict[str, Any]) -> list[Any]:
    made: list[Any] = []
    for s in range(stages):
        which = s % 4 if stages == 20 else [3, 0, 1, 2, 3][s] if stages == 5 else 1
        if which == 0:
            made.append(Validator(isolation=isolation))
        elif which == 1:
            made.append(JsonToXml(root=f"r{s}", isolation=isolation))
        elif which == 2:
            made.append(XmlToJson(isolation=isolation))
        else:
            made.append(Logger(level="INFO", settings=settings))
    return made


async def _assembly_rows(folder: Path, smoke: bool) -> list[Row]:
    gw = _gateway(folder, "assembly.db")
    n = 20 if smoke else 400
    rows: list[Row] = []
    counter = iter(range(10**9))
    try:
        await gw.start()
        settings = {"dir": str(folder / "log")}
        for stages in (1, 5, 20):
            gateway_times, hand_times = [], []
            for _ in range(3):
                parsed = [gw.parse_uncached(_pipe(stages, next(counter))) for _ in range(n)]
                gc.collect()
                started = time.perf_counter()
                for p in parsed:
                    _, cache = await gw.application(p, "application/json")
                    assert cache == "miss"
                gateway_times.append((time.perf_counter() - started) / n)
                started = time.perf_counter()
                for _ in range(n):
                    _by_hand(stages, gw.env.isolation, settings)
                hand_times.append((time.perf_counter() - started) / n)
                gw.applications.remove([p.key for p in parsed])
                await gw.applications.wait_closed()
            g, h = min(gateway_times) * 1e6, min(hand_times) * 1e6
            target, limit = machine.target(100, "µs") if stages == 5 else ("", 0.0)
            rows.append(
                Row("cold assembly (pipes of built-ins, a new key each time)",
                    f"{stages} stage{'s' if stages > 1 else ''}", g, "µs", h,
                    "µs the same stages made by hand", None, target,
                    g <= limit if stages == 5 else None)
            )  # fmt: skip
    finally:
        await gw.stop()
    return rows


# -- application list -------------------------------------------------------------------------

TINY = ServiceEntry(
    id="tiny@1.0.0",
    name="tiny",
    version="1.0.0",
    kind="python",
    target={"callable": "bench.inproc:tiny"},
    input=("*/*",),
    output="same",
)
_PLANNED = (PlannedStage("tiny", TINY),)


class TinyStage:
    entry = TINY
    fixed_size = True

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        return message

    def size_bytes(self) -> int:
        return 64

    async def close(self) -> None:
        pass


def tiny(message: Message) -> Message:
    return message


def _applications(n: int, now_ns: int) -> list[Application]:
    stage = TinyStage()
    return [
        Application(
            Plan(f"tiny(n={i})", f"{i:032x}", _PLANNED, ("*/*",), "same"),
            [stage],  # type: ignore[list-item]
            app_server="as0",
            node="bench",
            now_ns=now_ns,
        )
        for i in range(n)
    ]


async def _lookup_rows(smoke: bool) -> list[Row]:
    sizes = (1_000, 10_000, 20_000) if smoke else (1_000, 100_000, 1_000_000)
    rows: list[Row] = []
    group = "application list"
    for size in sizes:
        apps = _applications(size, time.time_ns())
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        listed = ApplicationList(
            [AppServer("as0", "bench", None)],  # type: ignore[arg-type]
            PurgePolicy(on_deploy=False),
            Clock(),
        )
        for app in apps:
            await listed.add(app)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / size
        tracemalloc.stop()
        plain = {app.key: app for app in apps}
        keys = [apps[random.randrange(size)].key for _ in range(1000)]

        def listed_gets(keys: list[str] = keys, listed: ApplicationList = listed) -> None:
            for key in keys:
                listed.get(key)

        def plain_gets(keys: list[str] = keys, plain: dict[str, Application] = plain) -> None:
            for key in keys:
                plain.get(key)

        got = best(listed_gets, 20) / len(keys) * 1e9
        base = best(plain_gets, 20) / len(keys) * 1e9
        label = f"{size:,} applications"
        rows.append(Row(group, f"lookup, {label}", got, "ns", base, "ns dict.get", base / got))
        rows.append(
            Row(group, f"bytes an application besides it, {label}", per_entry, "B",
                target="<= 1024 B", met=per_entry <= 1024)
        )  # fmt: skip
        del apps, plain, listed
        gc.collect()
    return rows


# -- resolution -------------------------------------------------------------------------------


def _many(n: int) -> list[ServiceEntry]:
    return [
        ServiceEntry(
            name=f"svc.n{i:06d}",
            kind="python",
            target={"callable": "repository.builtins:Logger"},
            params={"level": {"type": "string", "default": "INFO"}},
            input=("*/*",),
            output="same",
            description=f"service number {i}",
        )
        for i in range(n)
    ]


def _resolution_rows(folder: Path, smoke: bool) -> list[Row]:
    size = 2_000 if smoke else 100_000
    pipe = f"svc.n{size // 2:06d} | validator | JSON -> XML"
    small_pipe = "logger | validator | JSON -> XML"
    big, small = _gateway(folder, "big.db"), _gateway(folder, "small.db")
    try:
        big.repository.seed(_many(size))
        n = 50 if smoke else 2000
        times = {}
        for name, gw, text in (("big", big, pipe), ("small", small, small_pipe)):
            parsed = gw.parse_uncached(text)

            def plan(gw: Gateway = gw, parsed: Any = parsed) -> None:
                build_plan(
                    parsed.descriptors,
                    parsed.canonical,
                    parsed.key,
                    gw.assembler.entries,
                    auto_convert=False,
                )

            plan()
            times[name] = best(plan, n) * 1e6
    finally:
        for gw in (big, small):
            gw.env.close()
            gw.repository.close()
    target, limit = machine.target(100, "µs")
    return [
        Row("resolution (3 stages: by name, by name, by IO)",
            f"{size:,} entries", times["big"], "µs", times["small"], "µs with the built-ins alone",
            times["small"] / times["big"], target, times["big"] <= limit)
    ]  # fmt: skip
