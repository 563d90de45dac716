"""A graceful stop: SIGTERM lets requests in flight finish, then the gateway exits 0.

The gateway runs as its own process, started as an operator would start it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import HEADER, http_entry

SLOW_S = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command() -> list[str]:
    script = Path(sys.executable).parent / "integration-gateway"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gateway"]


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    base: str
    admin: str
    log: Path


SLEEPY = "import time\n\ndef nap(message):\n    time.sleep(600)\n    return message\n"


@pytest.fixture
async def gateway_process(tmp_path: Path) -> AsyncIterator[Process]:
    port, admin = free_port(), free_port()
    (tmp_path / "sleepy.py").write_text(SLEEPY)  # a python service that never returns
    (tmp_path / "config.toml").write_text(
        f"""
[gateway]
host = "127.0.0.1"
port = {port}
stage_timeout_s = 100

[admin]
host = "127.0.0.1"
port = {admin}

[repository]
path = "var/repository.sqlite"
python_modules = ["sleepy"]

[purge]
interval_s = 3600

[services.logger]
dir = "var/log"
"""
    )
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *command(),
            "serve",
            "--config",
            str(tmp_path / "config.toml"),
            cwd=tmp_path,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(tmp_path)},
        )
    running = Process(proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}", log)
    try:
        await healthy(running)
        yield running
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def healthy(p: Process, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(p.base + "/_gateway/health") as r:
                    if r.status == 200:
                        return
            if p.proc.returncode is not None or time.monotonic() > deadline:
                pytest.fail("the gateway did not start: " + p.log.read_text()[-2000:])
            await asyncio.sleep(0.1)


async def refuses_connections(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether `url` goes unanswered: refused, or (caught as the listener closed) cut off
    or never answered."""
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)):
            return False
    except (aiohttp.ClientError, TimeoutError):
        return True


async def test_sigterm_drains_requests_in_flight_then_exits_0(gateway_process, upstream):
    p = gateway_process
    async with aiohttp.ClientSession() as http:
        entry = http_entry("slow", f"{upstream}/slow?s={SLOW_S}")
        async with http.post(p.admin + "/services", json=entry) as r:
            assert r.status == 201, await r.text()

        async def slow_request() -> tuple[int, bytes]:
            headers = {HEADER: "slow", "Content-Type": "text/plain"}
            async with http.post(p.base + "/", data=b"finished", headers=headers) as r:
                return r.status, await r.read()

        slow = asyncio.create_task(slow_request())
        deadline = time.monotonic() + 5
        while True:  # until the request is inside its application
            async with http.get(p.admin + "/applications") as r:
                items = (await r.json())["items"]
            if items and items[0]["in_flight"] == 1:
                break
            assert time.monotonic() < deadline and not slow.done()
            await asyncio.sleep(0.02)

        p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 1
        while not await refuses_connections(http, p.base + "/_gateway/health"):
            assert time.monotonic() < deadline, "still listening after SIGTERM"
            await asyncio.sleep(0.02)
        assert not slow.done()  # refused new connections while this one drained

        assert await slow == (200, b"finished")
    assert await asyncio.wait_for(p.proc.wait(), 15) == 0
    log = p.log.read_text()
    assert "draining 1 integration requests in flight" in log and "stopped" in log
    assert "Traceback" not in log


def descendants(pid: int) -> set[int]:
    """Every process `pid` started, and theirs (Linux /proc)."""
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        with contextlib.suppress(FileNotFoundError):
            for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                found |= {int(child), *descendants(int(child))}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
async def test_sigterm_ends_everything_within_35_s_whatever_runs(gateway_process):
    """SPEC §10.9: stages that never finish (a python call, a schema check of minutes,
    their deadline far off) still let the process, and every process it started, exit in
    time."""
    p = gateway_process
    # A client's schema whose check costs minutes (uniqueItems over 20,000 objects).
    unique = json.dumps(json.dumps({"type": "array", "uniqueItems": True}))
    body = json.dumps([{"n": [i]} for i in range(20_000)]).encode()
    async with aiohttp.ClientSession() as http:
        nap = {"name": "nap", "kind": "python", "target": {"callable": "sleepy:nap"}}
        async with http.post(p.admin + "/services", json=nap) as r:
            assert r.status == 201, await r.text()

        async def call(header: str, body: bytes, ctype: str) -> None:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.post(
                    p.base + "/", data=body, headers={HEADER: header, "Content-Type": ctype}
                ) as r:
                    await r.read()

        calls = [
            asyncio.create_task(call("nap", b"{}", "application/json")),
            asyncio.create_task(call(f"validator(schema={unique})", body, "application/json")),
        ]
        await asyncio.sleep(1.5)  # both inside their stages; the schema's worker started
        children = descendants(p.proc.pid)
        assert children, "the isolation's worker processes were never started"
        started = time.monotonic()
        p.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(p.proc.wait(), 40) == 0
        assert time.monotonic() - started < 35
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    await asyncio.sleep(0.5)
    assert not [c for c in children if alive(c)], "a process it started outlived it"
