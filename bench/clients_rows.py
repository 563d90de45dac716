"""Rows of scoped clients and audit (SPEC §9), against an open gateway run beside them.

Three `integration-gateway serve` processes on CPU 0, each with the same pipe
(`validator | JSON -> XML`) deployed and the same body: open (no clients, no audit), with
clients required and audit off (an authorised hit: the credentials and the grant, both
remembered), and with clients required and audit on (SPEC's default then). Rounds
alternate the three under wrk at -c32, each round starting with the next; the figures
are the CPU µs a request each costs over the open one (the target: an authorised hit at
most 5 µs over an open one), the ratio of requests a second, and the p99 latency added.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
import urllib.request
from pathlib import Path

from multidict import CIMultiDict, CIMultiDictProxy

from bench import machine
from bench.http_rows import BODY, deploy
from bench.inproc import best
from bench.procs import SERVER_CPU, Run, free_port, gateway_argv, servers, workdir, wrk, wrk_script
from bench.table import Row
from gateway.config import from_dict
from gateway.public import without_credentials
from gateway.runtime import Gateway

PIPE = "validator | JSON -> XML"
GROUP = "clients and audit (`validator | JSON -> XML` -c32, against an open gateway)"


def _config(folder: Path, name: str, extra: str) -> tuple[Path, int, int]:
    port, admin = free_port(), free_port()
    home = folder / name
    home.mkdir()
    config = home / "config.toml"
    config.write_text(
        f"[gateway]\nport = {port}\n{extra}\n[admin]\nport = {admin}\n[purge]\ninterval_s = 0\n"
    )
    return config, port, admin


def client_authorization(admin: int) -> str:
    """A client allowed `*`, as the Authorization value wrk sends."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{admin}/clients",
        data=json.dumps({"name": "bench", "allow": ["*"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        made = json.loads(answer.read())
    return "Basic " + base64.b64encode(f"{made['id']}:{made['secret']}".encode()).decode()


def clients_rows(*, seconds: float, rounds: int, smoke: bool) -> list[Row]:
    folder = workdir()
    kinds = {
        "open": "",
        "authorised": "require_client_auth = true\n[audit]\nenabled = false",
        "audited": "require_client_auth = true",
    }
    specs, ports, admins = [], {}, {}
    for name, extra in kinds.items():
        config, ports[name], admins[name] = _config(folder, name, extra)
        health = f"http://127.0.0.1:{ports[name]}/_gateway/health"
        specs.append((name, gateway_argv(config), SERVER_CPU, health, config.parent))
    with servers(*specs) as running:
        scripts = {}
        for name in kinds:
            headers = (
                {} if name == "open" else {"Authorization": client_authorization(admins[name])}
            )
            deploy(f"http://127.0.0.1:{ports[name]}/", PIPE, headers)
            scripts[name] = wrk_script(folder, name, BODY, {"Integration-Config": PIPE, **headers})
        runs: dict[str, list[Run]] = {name: [] for name in kinds}
        names = list(kinds)
        for i in range(rounds):
            # Each round starts with another: whichever runs first in a round runs a little
            # faster here (two identical gateways differ by 16 µs in a fixed order, by
            # -6 µs rotated), so the order's share falls on all three alike.
            for name in names[i % 3 :] + names[: i % 3]:
                runs[name].append(
                    wrk(f"http://127.0.0.1:{ports[name]}/", scripts[name], seconds=seconds,
                        connections=32, measured=[running[name]])
                )  # fmt: skip
    return _rows(runs) + _steps_rows(folder, smoke)


def _steps_rows(folder: Path, smoke: bool) -> list[Row]:
    """The steps themselves, timed in this process on the gateway's own objects: steadier
    than the difference of two noisy servers' CPU (±6 µs here between identical ones)."""
    return asyncio.run(_steps(folder / "inproc", 200 if smoke else 20_000))


async def _steps(folder: Path, n: int) -> list[Row]:
    config = from_dict(
        {
            "gateway": {"require_client_auth": True},
            "repository": {"path": str(folder / "repo.db")},
            "audit": {"enabled": True, "path": str(folder / "audit.db")},
            "purge": {"interval_s": 0},
        },
        base_dir=folder,
    )
    gw = Gateway(config)
    try:
        client, secret = await gw.clients.create({"name": "bench", "allow": ["*"]})
        authorization = "Basic " + base64.b64encode(f"{client.id}:{secret}".encode()).decode()
        await gw.clients.authenticate(authorization)
        application, _ = await gw.application(gw.parse(PIPE))
        headers = CIMultiDictProxy(CIMultiDict({
            "Host": "127.0.0.1:8080", "Content-Type": "application/json",
            "Content-Length": str(len(BODY)), "Integration-Config": PIPE,
            "Authorization": authorization}))  # fmt: skip
        clients = gw.clients

        def authorised() -> None:
            known = clients.known(headers.get("Authorization"))
            assert known is not None
            clients.admit(known, application)
            without_credentials(headers)

        steps = best(authorised, n) * 1e6
        audit = gw.audit
        assert audit is not None
        stages, now = application.stage_ids, time.time()

        def record() -> None:
            audit.record(client.id, application.key, stages, now, 200)

        records = best(record, n, repeat=1) * 1e6
        started = time.perf_counter()
        written = await audit.flush()
        writing = (time.perf_counter() - started) / written * 1e6
    finally:
        await gw.stop()
    target, limit = machine.target(5.0, "µs")
    return [
        Row(GROUP, "an authorised hit's own steps, in process (credentials known, grant, "
            "headers without them)", steps, "µs", None, "", None, target, steps <= limit),
        Row(GROUP, "an audit record, in process: on the request", records, "µs"),
        Row(GROUP, "an audit record, in process: its share of a batch written by a thread",
            writing, "µs"),
    ]  # fmt: skip


def _best(runs: list[Run], field: str) -> float:
    values = [getattr(r, field) for r in runs]
    return min(values) if field == "cpu_us" else max(values)


def _median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(r, field) for r in runs)


def _rows(runs: dict[str, list[Run]]) -> list[Row]:
    # Each side's best round, as in bench/http_rows.py; latencies by the median.
    open_cpu, open_rate = _best(runs["open"], "cpu_us"), _best(runs["open"], "rate")
    open_p99 = _median(runs["open"], "p99_ms")
    rows = []
    for name, what in (
        ("authorised", "an authorised hit"),
        ("audited", "an authorised hit, audited"),
    ):
        cpu, rate = _best(runs[name], "cpu_us"), _best(runs[name], "rate")
        # No target here: two identical servers differ by up to ±6 µs a request on this
        # machine. The target is judged on the steps themselves (`_steps_rows`).
        rows += [
            Row(GROUP, f"{what}: CPU a request over an open hit", cpu - open_cpu, "µs",
                open_cpu, "µs open", open_cpu / cpu),
            Row(GROUP, f"{what}: req/s", rate, "req/s", open_rate, "open", rate / open_rate),
            Row(GROUP, f"{what}: p99 added latency", _median(runs[name], "p99_ms") - open_p99,
                "ms", open_p99, "ms open"),
        ]  # fmt: skip
    return rows
