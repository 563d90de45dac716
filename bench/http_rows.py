"""Rows driven by wrk over loopback: the hit path and the pass-through path.

Hit path: `integration-gateway serve` with its defaults (metrics, `Server-Timing`,
request ids, stage deadlines all on), the pipe deployed before the first round, against
`bench.apps baseline` doing the same work by hand; same body, same concurrency, both on
CPU 0, wrk on CPU 1. Pass-through: a `[[routes]]` request through the gateway (CPU 0) to
`bench.apps upstream` (CPU 1, beside wrk), against wrk calling the upstream directly.
Rounds alternate baseline and gateway, each round starting with the other, so that the
machine's noise falls on both alike;
requests a second and CPU a request are each side's best round (noise only slows a run
down), latencies the median over the rounds.
"""

from __future__ import annotations

import functools
import statistics
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench import machine
from bench.procs import (
    CLIENT_CPU,
    SERVER_CPU,
    Run,
    Server,
    free_port,
    gateway_argv,
    python,
    servers,
    workdir,
    wrk,
    wrk_script,
)
from bench.table import Row

# 348 bytes of JSON, near the 311 the performance issue measured with.
BODY = (
    '{"order": {"id": "A-1029", "customer": {"name": "Ada Lovelace", "email": '
    '"ada@example.org", "tier": "gold"}, "lines": [{"sku": "X-1", "qty": "2", "price": '
    '"9.90"}, {"sku": "X-2", "qty": "1", "price": "24.00"}, {"sku": "X-3", "qty": "5", '
    '"price": "1.25"}], "shipping": {"method": "express", "city": "London", "zip": "NW1"}, '
    '"note": "leave at door"}}'
)
PIPES = {
    "validator | JSON -> XML": "/validated",
    "logger | validator | JSON -> XML": "/logged",
}


def _config(folder: Path, port: int, admin: int, upstream: int) -> Path:
    config = folder / "config.toml"
    config.write_text(
        f"[gateway]\nport = {port}\n[admin]\nport = {admin}\n[purge]\ninterval_s = 0\n"
        f'[[routes]]\nprefix = "/up"\nupstream = "http://127.0.0.1:{upstream}"\n'
    )
    return config


def deploy(url: str, pipe: str, headers: dict[str, str] | None = None) -> None:
    """One request of `pipe`, so that every later one is a hit."""
    request = urllib.request.Request(
        url,
        data=BODY.encode(),
        headers={"Content-Type": "application/json", "Integration-Config": pipe, **(headers or {})},
    )
    with urllib.request.urlopen(request) as answer:
        if answer.status != 200 or answer.headers["Content-Type"] != "application/xml":
            raise SystemExit(f"{pipe}: {answer.status} {answer.read()[:200]!r}")


def _median(runs: list[Run], field: Callable[[Run], float]) -> float:
    return statistics.median(field(r) for r in runs)


def _compared(
    group: str,
    what: str,
    base: list[Run],
    gw: list[Run],
    *,
    base_label: str,
    rate_target: float,
    latency_target_ms: float | None,
) -> list[Row]:
    # The least disturbed round of each (the most requests, the least CPU a request): the
    # machine's noise only ever slows a run down, and takes rounds of either at random.
    rate_b, rate_g = max(r.rate for r in base), max(r.rate for r in gw)
    cpu_b, cpu_g = min(r.cpu_us for r in base), min(r.cpu_us for r in gw)
    ratio = rate_g / rate_b
    rows = [
        Row(group, f"{what}: req/s", rate_g, "req/s", rate_b, base_label, ratio,
            f">= {rate_target:.2f}", ratio >= rate_target),
        Row(group, f"{what}: CPU a request", cpu_g, "µs", cpu_b, base_label, cpu_b / cpu_g),
    ]  # fmt: skip
    for pct in ("p50", "p99"):
        b = _median(base, lambda r, p=pct: getattr(r, f"{p}_ms"))
        g = _median(gw, lambda r, p=pct: getattr(r, f"{p}_ms"))
        added = g - b
        target, met = "", None
        if pct == "p99" and latency_target_ms is not None:
            target, limit = machine.target(latency_target_ms, "ms")
            met = added <= limit
        rows.append(
            Row(group, f"{what}: {pct} added latency", added, "ms", b, f"ms {base_label}",
                None, target, met)
        )  # fmt: skip
    return rows


def http_rows(*, seconds: float, rounds: int, smoke: bool) -> list[Row]:
    folder = workdir()
    base_port, up_port, gw_port, admin_port = free_port(), free_port(), free_port(), free_port()
    config = _config(folder, gw_port, admin_port, up_port)
    apps = [python(), "-m", "bench.apps"]
    root = Path(__file__).resolve().parents[1]
    specs = [
        ("baseline", [*apps, "baseline", str(base_port)], SERVER_CPU,
         f"http://127.0.0.1:{base_port}/health", root),
        ("upstream", [*apps, "upstream", str(up_port)], CLIENT_CPU,
         f"http://127.0.0.1:{up_port}/health", root),
        ("gateway", gateway_argv(config), SERVER_CPU,
         f"http://127.0.0.1:{gw_port}/_gateway/health", folder),
    ]  # fmt: skip
    rows: list[Row] = []
    with servers(*specs) as running:
        baseline, upstream, gateway = running["baseline"], running["upstream"], running["gateway"]
        gw_url = f"http://127.0.0.1:{gw_port}/"
        for pipe in PIPES:
            deploy(gw_url, pipe)  # every wrk request after this is a hit
        loads = (32,) if smoke else (32, 4)
        for pipe, path in PIPES.items():
            piped = wrk_script(folder, f"pipe{len(rows)}", BODY, {"Integration-Config": pipe})
            plain = wrk_script(folder, f"plain{len(rows)}", BODY, {})
            for connections in loads:
                base_runs, gw_runs = _interleaved(
                    rounds,
                    functools.partial(
                        wrk, f"{baseline.url}{path.lstrip('/')}", plain, seconds=seconds,
                        connections=connections, measured=[baseline],
                    ),
                    functools.partial(
                        wrk, gw_url, piped, seconds=seconds, connections=connections,
                        measured=[gateway],
                    ),
                )  # fmt: skip
                rows += _compared(
                    "hit path",
                    f"`{pipe}` -c{connections}",
                    base_runs,
                    gw_runs,
                    base_label="by hand",
                    rate_target=0.90,
                    latency_target_ms=1.0 if connections == 4 else None,
                )
        rows += _pass_through(folder, gateway, upstream, seconds=seconds, rounds=rounds)
    return rows


def _pass_through(
    folder: Path, gateway: Server, upstream: Server, *, seconds: float, rounds: int
) -> list[Row]:
    script = wrk_script(folder, "routed", BODY, {})
    direct, routed = _interleaved(
        rounds,
        lambda: wrk(f"{upstream.url}up/orders", script, seconds=seconds, connections=32,
                    measured=[upstream]),
        lambda: wrk(f"{gateway.url}up/orders", script, seconds=seconds, connections=32,
                    measured=[gateway]),
    )  # fmt: skip
    rows = _compared(
        "pass-through",
        "`[[routes]]` -c32",
        direct,
        routed,
        base_label="direct",
        rate_target=0.75,
        latency_target_ms=None,
    )
    return rows


def _interleaved(
    rounds: int, baseline: Callable[[], Run], gateway: Callable[[], Run]
) -> tuple[list[Run], list[Run]]:
    """Rounds of both, each round starting with the other one: on this machine whichever
    runs first in a round tends to run faster (two identical gateways measured 16 µs a
    request apart in a fixed order), so the order's share falls on both alike."""
    base_runs: list[Run] = []
    gw_runs: list[Run] = []
    for i in range(rounds):
        if i % 2:
            gw_runs.append(gateway())
            base_runs.append(baseline())
        else:
            base_runs.append(baseline())
            gw_runs.append(gateway())
    return base_runs, gw_runs
