"""The README's "Running several nodes" recipe, as far as this machine allows: the files
of examples/cluster as they are (their ports moved to free ones), a real PostgreSQL, two
nodes of two workers each, and nginx in front. A service registered on one node is
served through nginx by both; a node stopped, nginx keeps answering from the other."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import httpx
import pytest
import trustme

from tests.conftest import http_entry
from tests.nodes import Node
from tests.processes import free_port

RECIPE = Path(__file__).resolve().parents[2] / "examples" / "cluster"
PORTS = (8180, 8181, 8280, 8281, 8000, 8443)  # as the recipe's files have them


@pytest.fixture
def recipe(tmp_path: Path) -> dict[str, str]:
    """The recipe's files with each port replaced by a free one."""
    free = {port: free_port() for port in PORTS}
    files = {}
    for name in ("node-a.toml", "node-b.toml", "nginx.conf"):
        text = (RECIPE / name).read_text()
        for port, instead in free.items():
            text = text.replace(str(port), str(instead))
        files[name] = text
    files["ports"] = free
    return files


async def get(url: str) -> tuple[int, dict]:
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as s, s.get(url) as r:
        return r.status, await r.json()


async def post(url: str, header: str, body: str) -> int:
    headers = {"Integration-Config": header}
    async with aiohttp.ClientSession() as s, s.post(url, json=body, headers=headers) as r:
        await r.read()
        return r.status


@pytest.mark.skipif(
    shutil.which("nginx") is None, reason="nginx is not installed (.ci/run installs it)"
)
async def test_two_nodes_behind_nginx(tmp_path: Path, recipe, pg_dsn: str, upstream: str):
    ports = recipe["ports"]
    env = {"IGW_DSN": pg_dsn}
    a = Node.of(tmp_path / "a", recipe["node-a.toml"], ports[8180], ports[8181]).start(env=env)
    b = Node.of(tmp_path / "b", recipe["node-b.toml"], ports[8280], ports[8281]).start(env=env)
    front = tmp_path / "nginx"
    (front / "tmp").mkdir(parents=True)
    (front / "tls").mkdir()
    ca = trustme.CA()
    served = ca.issue_cert("127.0.0.1", "localhost")
    served.private_key_pem.write_to_path(front / "tls" / "public.key")
    served.cert_chain_pems[0].write_to_path(front / "tls" / "public.pem")
    (front / "nginx.conf").write_text(recipe["nginx.conf"])
    nginx = subprocess.Popen(
        ["nginx", "-c", str(front / "nginx.conf"), "-p", str(front)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{ports[8000]}"
    try:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientError):
                if (await get(url + "/_gateway/health"))[0] == 200:
                    break
            await asyncio.sleep(0.1)
        status, _ = await a.adm("POST", "/services", http_entry("shop.upper", upstream + "/upper"))
        assert status == 201
        await asyncio.sleep(1.0)  # SPEC §5: every node within a second
        assert {await post(url + "/orders", "shop.upper", "hi") for _ in range(20)} == {200}
        seen = {(await get(url + "/_gateway/health"))[1]["node"] for _ in range(20)}
        assert seen == {"node-a", "node-b"}
        # The same over TLS, on nginx's 8443; the admin ports are not behind it.
        with ca.cert_pem.tempfile() as trusted:
            tls_url = f"https://127.0.0.1:{ports[8443]}/_gateway/health"
            answer = httpx.get(tls_url, verify=trusted, timeout=10)
        assert answer.status_code == 200 and answer.json()["node"] in seen
        answer = httpx.get(f"{url}/applications")
        assert answer.status_code == 404  # the public port's: no admin API through nginx
        # Node A stops (SIGTERM: it drains, its port closes): nginx serves from B.
        statuses = []
        stopping = asyncio.ensure_future(asyncio.to_thread(a.stop))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline or not stopping.done():
            statuses.append(await post(url + "/orders", "shop.upper", "hi"))
        assert await stopping == 0
        assert set(statuses) == {200}, (statuses, _errors(nginx))
        assert {(await get(url + "/_gateway/health"))[1]["node"] for _ in range(10)} == {"node-b"}
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        a.kill()
        b.kill()


def _errors(nginx: subprocess.Popen[bytes]) -> str:
    """What nginx logged (its error log is its stderr), for a failure's message."""
    nginx.send_signal(signal.SIGQUIT)
    try:
        _, err = nginx.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        nginx.kill()
        _, err = nginx.communicate()
    return err.decode(errors="replace")[-3000:]
