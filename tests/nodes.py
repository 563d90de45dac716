"""Gateway nodes as real processes (`python -m gateway serve`), for the tests of workers
and of nodes sharing a PostgreSQL repository: started on free loopback ports with a
config.toml of the test's, their log in a file (read when a test fails), stopped with
SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.processes import free_port


def toml(sections: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


class Node:
    """One gateway node: its ports, its folder, its process."""

    def __init__(self, folder: Path, *, port: int | None = None, **sections: dict[str, Any]):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.admin_port = free_port()
        gateway = {"port": self.port, **sections.pop("gateway", {})}
        admin = {"port": self.admin_port, **sections.pop("admin", {})}
        (folder / "config.toml").write_text(toml({"gateway": gateway, "admin": admin, **sections}))
        self.log = folder / "gateway.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"

    @classmethod
    def of(cls, folder: Path, config: str, port: int, admin_port: int) -> Node:
        """A node of a config.toml's text as it is (the examples' recipes)."""
        node = cls.__new__(cls)
        node.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.toml").write_text(config)
        node.port, node.admin_port = port, admin_port
        node.log = folder / "gateway.log"
        node.proc = None
        node.url = f"http://127.0.0.1:{port}"
        node.admin = f"http://127.0.0.1:{admin_port}"
        return node

    def start(self, seconds: float = 60, env: dict[str, str] | None = None) -> Node:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", "config.toml"],
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        deadline = time.monotonic() + seconds
        import httpx  # the tests' synchronous client

        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.admin + "/applications", timeout=1).status_code == 200:
                    return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the node did not start:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self, seconds: float = 45) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """The node's whole session (supervisor and workers) at once."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def children(self) -> list[int]:
        """The worker processes' pids."""
        assert self.proc is not None
        found = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(pid) for pid in text)
        return [pid for pid in found if "spawn_main" in _cmdline(pid)]

    # -- HTTP ------------------------------------------------------------------------------

    async def call(
        self,
        header: str | None,
        body: Any = None,
        *,
        path: str = "/orders",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One integration request on a connection of its own (so that the kernel may give
        it to any worker): (status, JSON or text)."""
        sent = dict(headers or {})
        if header is not None:
            sent["Integration-Config"] = header
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as s,
            s.post(self.url + path, json=body, headers=sent) as r,
        ):
            return r.status, await _body(r)

    async def call_on_a_worker(
        self, header: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> tuple[int, int, Any]:
        """(the worker, status, body) of one request: the health check and the request go
        over one kept-alive connection, so that they reach the same worker."""
        sent = {"Integration-Config": header, **(headers or {})}
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as s:
            async with s.get(self.url + "/_gateway/health") as r:
                worker = (await r.json())["worker"]
            async with s.post(self.url + "/orders", json=body, headers=sent) as r:
                return worker, r.status, await _body(r)

    async def health(self) -> dict[str, Any]:
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as s,
            s.get(self.url + "/_gateway/health") as r,
        ):
            return await r.json()

    async def adm(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as s,
            s.request(method, self.admin + path, json=body) as r,
        ):
            return r.status, await _body(r)


async def _body(r: aiohttp.ClientResponse) -> Any:
    text = await r.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
