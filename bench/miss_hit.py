"""What a miss and a hit cost, against a plain aiohttp server run side by side.

    .venv/bin/python bench/miss_hit.py [--requests 2000]

Starts, each in its own process on loopback: a baseline aiohttp app that parses the JSON
body and answers it as XML (about the work of `validator | JSON -> XML`, without the
gateway), and `integration-gateway serve` with that app as a route's upstream. One client
then sends, one request at a time, interleaved round by round so that the machine's noise
falls on every series alike:

- baseline: POST to the plain app;
- hit: `logger | validator | JSON -> XML` on an application already deployed;
- miss: the same pipe with a new `logger(file=...)` argument each time, so every request
  parses, resolves, type-checks and deploys a new application;
- proxy: a basic request through a route to the plain app.

It prints median and p99 latency per series and each median's ratio to the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

BASELINE_APP = """
import json, sys
from aiohttp import web
from xml.sax.saxutils import escape

async def handle(request):
    data = json.loads(await request.read())
    def xml(v):
        if isinstance(v, dict):
            return "".join(f"<{k}>{xml(x)}</{k}>" for k, x in v.items())
        return escape(str(v))
    return web.Response(body=xml(data).encode(), content_type="application/xml")

app = web.Application()
app.router.add_post("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(session: aiohttp.ClientSession, url: str, method: str = "GET") -> None:
    for _ in range(300):
        try:
            async with session.request(method, url, data=b"{}") as r:
                await r.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


async def timed(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes
) -> float:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as r:
        await r.read()
        if r.status != 200:
            raise SystemExit(f"{url}: {r.status} {await r.text()}")
    return (time.perf_counter() - started) * 1000


def summary(name: str, ms: list[float], base: float) -> str:
    ms = sorted(ms)
    median = statistics.median(ms)
    p99 = ms[int(len(ms) * 0.99) - 1]
    return f"{name:<9} median {median:7.3f} ms   p99 {p99:7.3f} ms   ratio {median / base:5.2f}"


async def main(requests: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="igw-bench-"))
    base_port, gw_port, admin_port = free_port(), free_port(), free_port()
    (work / "config.toml").write_text(f"""
[gateway]
port = {gw_port}
[admin]
port = {admin_port}
[purge]
interval_s = 0
max_apps = 100000
max_bytes = 100000000000
[[routes]]
prefix = "/plain"
upstream = "http://127.0.0.1:{base_port}"
""")
    exe = Path(sys.executable).with_name("integration-gateway")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BASELINE_APP, str(base_port)], start_new_session=True
        ),
        subprocess.Popen(
            [str(exe), "serve", "--config", str(work / "config.toml")],
            cwd=work,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    ]
    body = b'{"invoice": {"no": "12", "customer": "ACME", "total": "99.50"}}'
    json_h = {"Content-Type": "application/json"}
    pipe = "logger | validator | JSON -> XML"
    series: dict[str, list[float]] = {"baseline": [], "hit": [], "miss": [], "proxy": []}
    try:
        async with aiohttp.ClientSession() as s:
            plain = f"http://127.0.0.1:{base_port}/"
            gw = f"http://127.0.0.1:{gw_port}/"
            await wait_up(s, plain, "POST")
            await wait_up(s, gw + "_gateway/health")
            hit_h = {**json_h, "Integration-Config": pipe}
            for _ in range(50):  # warm both up
                await timed(s, plain, json_h, body)
                await timed(s, gw, hit_h, body)
            for i in range(requests):
                series["baseline"].append(await timed(s, plain, json_h, body))
                series["hit"].append(await timed(s, gw, hit_h, body))
                miss_h = {**json_h, "Integration-Config": f"logger(file=b{i}.txt) | {pipe[9:]}"}
                series["miss"].append(await timed(s, gw, miss_h, body))
                series["proxy"].append(await timed(s, gw + "plain/x", json_h, body))
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(10)
    base = statistics.median(series["baseline"])
    print(f"{requests} requests a series, sequential, one client, loopback")
    for name, ms in series.items():
        print(summary(name, ms, base))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
