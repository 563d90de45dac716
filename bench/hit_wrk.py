"""The hit path's throughput against a hand-written aiohttp app doing the same work, by wrk.

    .venv/bin/python bench/hit_wrk.py [--seconds 10] [--rounds 3]

Each server runs in its own process pinned to CPU 0; wrk (`-t1 -c32`, the Debian package)
runs pinned to CPU 1. The baseline app checks the JSON body is well-formed and answers it
as XML with lxml, by SPEC §3's mapping for this body (`validator | JSON -> XML` without
the gateway); the gateway serves that pipe, deployed before the first round. Rounds
alternate baseline and gateway so the machine's noise falls on both alike. For each it
prints requests a second and the server's CPU time per request (from /proc), then the
gateway's median as a ratio of the baseline's.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPE = "validator | JSON -> XML"
# About 350 bytes of JSON, near the 311 the performance issue measured with.
BODY = (
    '{"order": {"id": "A-1029", "customer": {"name": "Ada Lovelace", "email": '
    '"ada@example.org", "tier": "gold"}, "lines": [{"sku": "X-1", "qty": "2", "price": '
    '"9.90"}, {"sku": "X-2", "qty": "1", "price": "24.00"}, {"sku": "X-3", "qty": "5", '
    '"price": "1.25"}], "shipping": {"method": "express", "city": "London", "zip": "NW1"}, '
    '"note": "leave at door"}}'
)

BASELINE_APP = """
import json, sys
from aiohttp import web
from lxml import etree

def build(parent, name, value):
    if isinstance(value, list):
        for item in value:
            build(parent, name, item)
        return
    element = etree.SubElement(parent, name) if parent is not None else etree.Element(name)
    if isinstance(value, dict):
        for k, v in value.items():
            build(element, k, v)
    elif value is not None:
        element.text = value if isinstance(value, str) else json.dumps(value)
    return element

async def handle(request):
    data = json.loads(await request.read())
    (name, value), = data.items()
    root = build(None, name, value)
    return web.Response(body=etree.tostring(root), content_type="application/xml")

app = web.Application()
app.router.add_post("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
{header}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, script: Path, seconds: int, pid: int) -> tuple[float, float]:
    """(requests a second, server CPU µs a request) of one wrk run."""
    before = cpu_seconds(pid)
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(pid) - before
    requests = next(int(line.split()[0]) for line in out.splitlines() if "requests in" in line)
    rate = float(next(line.split()[1] for line in out.splitlines() if "Requests/sec" in line))
    errors = [line for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    if errors:
        raise SystemExit(f"{url}: {errors}")
    return rate, cpu / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="igw-bench-"))
    base_port, port, admin = free_port(), free_port(), free_port()
    (work / "config.toml").write_text(
        f"[gateway]\nport = {port}\n[admin]\nport = {admin}\n[purge]\ninterval_s = 0\n"
    )
    (work / "baseline.py").write_text(BASELINE_APP)
    python = sys.executable
    exe = str(Path(python).with_name("integration-gateway"))
    baseline = subprocess.Popen(
        ["taskset", "-c", "0", python, str(work / "baseline.py"), str(base_port)]
    )
    gateway = subprocess.Popen(
        ["taskset", "-c", "0", exe, "serve", "--config", str(work / "config.toml")],
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{base_port}/", baseline)
        wait_until_up(f"http://127.0.0.1:{port}/_gateway/health", gateway)
        plain = work / "plain.lua"
        plain.write_text(WRK_SCRIPT.format(body=BODY, header=""))
        piped = work / "piped.lua"
        header = f'wrk.headers["Integration-Config"] = "{PIPE}"'
        piped.write_text(WRK_SCRIPT.format(body=BODY, header=header))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            data=BODY.encode(),
            headers={"Content-Type": "application/json", "Integration-Config": PIPE},
        )
        urllib.request.urlopen(request).read()  # deployed: every wrk request is a hit
        series: dict[str, list[tuple[float, float]]] = {"baseline": [], "gateway": []}
        for _ in range(options.rounds):
            series["baseline"].append(
                run_wrk(f"http://127.0.0.1:{base_port}/", plain, options.seconds, baseline.pid)
            )
            series["gateway"].append(
                run_wrk(f"http://127.0.0.1:{port}/", piped, options.seconds, gateway.pid)
            )
        medians = {k: (statistics.median(r for r, _ in v), statistics.median(c for _, c in v))
                   for k, v in series.items()}  # fmt: skip
        print(f"hit path `{PIPE}`, {len(BODY)}-byte JSON, wrk -t1 -c32, {options.rounds} rounds")
        print(f"{'server':<10} {'req/s (median)':>15} {'CPU µs/request':>15}")
        for name, (rate, cpu) in medians.items():
            print(f"{name:<10} {rate:>15.0f} {cpu:>15.1f}")
        ratio = medians["gateway"][0] / medians["baseline"][0]
        cpu_ratio = medians["baseline"][1] / medians["gateway"][1]
        print(f"gateway ÷ baseline: {ratio:.2f} by req/s, {cpu_ratio:.2f} by CPU per request")
    finally:
        for proc in (baseline, gateway):
            proc.send_signal(signal.SIGTERM)
        for proc in (baseline, gateway):
            proc.wait(timeout=40)


if __name__ == "__main__":
    main()
