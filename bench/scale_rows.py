"""Rows of scaling out (issue 13): workers on one machine, changes between nodes.

Workers: the hit path (`validator | JSON -> XML`, -c32) on `[gateway] workers = 2`
against `workers = 1`, unpinned (the kernel places the workers and wrk, `-t2`, on the two
cores they share), rounds alternating; beside it the hand-written app's own figure, two
processes on one port (SO_REUSEPORT) against one: the ceiling on this machine, where wrk
takes a core's worth of the two.

Propagation: two nodes on one PostgreSQL (a throwaway cluster of this machine's, as the
tests make), an entry disabled and enabled again on node A 1,000 times; each time, from
A's answer until node B's own memory resolves the header otherwise (`POST /resolve` on
B, asked again and again). p50 and p99 of that; SPEC §5 promises one second.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench.http_rows import BODY, deploy
from bench.procs import Run, free_port, gateway_argv, python, servers, workdir, wrk, wrk_script
from bench.table import Row

PIPE = "validator | JSON -> XML"


def scale_rows(*, seconds: float, rounds: int, smoke: bool) -> list[Row]:
    return [*_workers(seconds=seconds, rounds=rounds), *_propagation(100 if smoke else 1000)]


# -- workers -----------------------------------------------------------------------------


def _gateway(folder: Path, workers: int) -> tuple[str, list[str], str, str, Path]:
    port, admin = free_port(), free_port()
    config = folder / f"w{workers}.toml"
    config.write_text(
        f"[gateway]\nport = {port}\nworkers = {workers}\n[admin]\nport = {admin}\n"
        f'[repository]\npath = "var/w{workers}.sqlite"\n[purge]\ninterval_s = 0\n'
    )
    url = f"http://127.0.0.1:{port}/_gateway/health"
    return (f"gateway x{workers}", gateway_argv(config), "", url, folder)


def _by_hand(processes: int) -> list[tuple[str, list[str], str, str, Path]]:
    port = free_port()
    root = Path(__file__).resolve().parents[1]
    argv = [python(), "-m", "bench.apps", "baseline", str(port), "--reuse-port"]
    url = f"http://127.0.0.1:{port}/health"
    return [(f"by hand x{processes} #{i}", argv, "", url, root) for i in range(processes)]


def _workers(*, seconds: float, rounds: int) -> list[Row]:
    folder = workdir()
    specs = [_gateway(folder, 1), _gateway(folder, 2), *_by_hand(1), *_by_hand(2)]
    piped = wrk_script(folder, "scale-pipe", BODY, {"Integration-Config": PIPE})
    plain = wrk_script(folder, "scale-plain", BODY, {})
    with servers(*specs) as running:
        urls = {name: server.url for name, server in running.items()}
        targets = {
            "gateway x1": (urls["gateway x1"], piped),
            "gateway x2": (urls["gateway x2"], piped),
            "by hand x1": (urls["by hand x1 #0"] + "validated", plain),
            "by hand x2": (urls["by hand x2 #0"] + "validated", plain),
        }
        for name in ("gateway x1", "gateway x2"):
            for _ in range(8):  # a miss on each worker before the rounds
                deploy(targets[name][0], PIPE)
        runs: dict[str, list[Run]] = {name: [] for name in targets}
        order = list(targets)
        for i in range(rounds):
            for name in order[i % len(order) :] + order[: i % len(order)]:
                url, script = targets[name]
                runs[name].append(
                    wrk(url, script, seconds=seconds, connections=32, measured=[], pin=False,
                        threads=2)
                )  # fmt: skip
    best = {name: max(r.rate for r in found) for name, found in runs.items()}
    gw = best["gateway x2"] / best["gateway x1"]
    hand = best["by hand x2"] / best["by hand x1"]
    return [
        Row("workers", "2 workers against 1: req/s", best["gateway x2"], "req/s",
            best["gateway x1"], "1 worker", gw),
        Row("workers", "by hand, 2 processes against 1: req/s", best["by hand x2"], "req/s",
            best["by hand x1"], "1 process", hand),
        Row("workers", "2 workers' gain against the ceiling's", gw / hand, "×", None, "", None),
    ]  # fmt: skip


# -- propagation -------------------------------------------------------------------------


def _propagation(changes: int) -> list[Row]:
    from tests.pg import initdb, throwaway_cluster  # the tests' PostgreSQL, made the same way

    bin = initdb()
    if bin is None:
        raise SystemExit("the propagation rows need PostgreSQL (apt-get install postgresql)")
    with contextlib.contextmanager(throwaway_cluster)(bin) as server:
        import psycopg

        with psycopg.connect(server.dsn, autocommit=True) as db:
            db.execute("CREATE DATABASE igw_bench")
        folder = workdir()
        dsn = server.url_for("igw_bench")
        specs = [_node(folder, name, dsn) for name in ("a", "b")]
        with servers(*specs[:1]) as first, servers(*specs[1:]) as second:
            a, b = first["node a"].url, second["node b"].url
            times = list(_changes(a.rstrip("/"), b.rstrip("/"), changes))
    p50 = statistics.median(times)
    p99 = statistics.quantiles(times, n=100)[98] if len(times) >= 100 else max(times)
    return [
        Row("propagation", f"a change, node to node: p50 ({changes} changes)", p50 * 1000,
            "ms", None, "", None, "<= 1000 ms", p50 <= 1.0),
        Row("propagation", f"a change, node to node: p99 ({changes} changes)", p99 * 1000,
            "ms", None, "", None, "<= 1000 ms", p99 <= 1.0),
    ]  # fmt: skip


def _node(folder: Path, name: str, dsn: str) -> tuple[str, list[str], str, str, Path]:
    port, admin = free_port(), free_port()
    config = folder / f"{name}.toml"
    config.write_text(
        f'[gateway]\nport = {port}\nnode = "{name}"\n[admin]\nport = {admin}\n'
        f'[repository]\ndsn = "{dsn}"\n[purge]\ninterval_s = 0\n'
    )
    # The admin URL is what the rows talk to: health is the public port's.
    return (f"node {name}", gateway_argv(config), "", f"http://127.0.0.1:{admin}/metrics", folder)


def _changes(a: str, b: str, count: int) -> Iterator[float]:
    entry = {
        "name": "bench.echo",
        "version": "1.0.0",
        "kind": "http",
        "params": {},
        "input": ["*/*"],
        "output": "same",
        "target": {"url": "http://127.0.0.1:9/echo", "method": "POST"},
    }
    _call(a, "POST", "/services", entry)
    enabled = True
    for _ in range(count):
        enabled = not enabled
        _call(a, "POST", f"/services/bench.echo@1.0.0/{'enable' if enabled else 'disable'}")
        acknowledged = time.perf_counter()
        deadline = acknowledged + 10
        while _resolves(b, "bench.echo") != enabled:
            if time.perf_counter() > deadline:
                raise SystemExit("node b never took up the change")
        yield time.perf_counter() - acknowledged


def _resolves(admin: str, header: str) -> bool:
    try:
        _call(admin, "POST", "/resolve", {"header": header})
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        raise
    return True


def _call(admin: str, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        admin + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text else None
