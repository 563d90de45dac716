"""`[gateway] workers = 2` (issue 13; SPEC §5, §6): real worker processes sharing the
public port, each with its own application list, one admin API answering for all of
them; a change undeployed by every worker before it is acknowledged; a worker that dies
started again; SIGTERM drains them all."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import http_entry
from tests.nodes import Node

WORKERS = 2


@pytest.fixture
def node(tmp_path: Path, upstream: str):
    n = Node(tmp_path / "node", gateway={"workers": WORKERS}, purge={"interval_s": 0})
    n.upstream = upstream
    n.start()
    yield n
    n.kill()


async def on_every_worker(node: Node, header: str, body=None, *, tries: int = 60, **kw):
    """Send until each worker has answered at least once (connections are spread by the
    kernel); answer the statuses seen by worker."""
    seen: dict[int, list[int]] = {}
    for _ in range(tries):
        sent = body if body is not None else {"a": 1}
        worker, status, _ = await node.call_on_a_worker(header, sent, **kw)
        seen.setdefault(worker, []).append(status)
        if len(seen) == WORKERS and all(len(v) >= 2 for v in seen.values()):
            break
    return seen


async def deployed_everywhere(node: Node, header: str) -> list[dict]:
    for _ in range(200):
        await node.call(header, {"a": 1})
        _, body = await node.adm("GET", "/applications")
        if len({r["worker"] for r in body["items"]}) == WORKERS:
            return body["items"]
    pytest.fail("the pipe was not deployed on every worker")


async def test_every_worker_serves_and_the_admin_api_answers_for_all(node):
    workers = Counter()
    for _ in range(40):
        workers[(await node.health())["worker"]] += 1
    assert set(workers) == set(range(WORKERS)), workers
    items = await deployed_everywhere(node, "validator")
    assert {r["worker"] for r in items} == set(range(WORKERS))
    assert all(r["node"] and r["stages"] == ["validator@1.0.0"] for r in items)
    key = items[0]["key"]
    status, one = await node.adm("GET", f"/applications/{key}")
    assert status == 200 and sorted(r["worker"] for r in one["items"]) == list(range(WORKERS))
    # /metrics sums the workers: every request counted once.
    _, text = await node.adm("GET", "/metrics")
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("igw_requests_total{")
    )
    _, again = await node.adm("GET", "/metrics")
    assert counted >= WORKERS and 'igw_node_info{node="' in again
    apps = subprocess.run(
        [sys.executable, "-m", "gateway", "apps", "--admin", node.admin],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert apps[0].split()[:3] == ["KEY", "WORKER", "APP_SERVER"] and len(apps) == 1 + WORKERS
    status, _ = await node.adm("DELETE", f"/applications/{key}")
    assert status == 204
    _, body = await node.adm("GET", "/applications")
    assert body["items"] == []
    assert (await node.adm("DELETE", f"/applications/{key}"))[0] == 404


async def test_a_change_is_acknowledged_once_every_worker_undeployed(node):
    status, _ = await node.adm(
        "POST", "/services", http_entry("shop.upper", node.upstream + "/upper")
    )
    assert status == 201
    await deployed_everywhere(node, "shop.upper")
    status, _ = await node.adm("POST", "/services/shop.upper@1.0.0/disable")
    assert status == 200
    _, body = await node.adm("GET", "/applications")
    assert body["items"] == []  # at once: no worker still holds it
    seen = await on_every_worker(node, "shop.upper")
    assert set(seen) == set(range(WORKERS)) and all(set(v) == {404} for v in seen.values()), seen
    # Enabled again, then a newer version registered: the workers' applications of the
    # old one go before the POST answers (SPEC §5).
    await node.adm("POST", "/services/shop.upper@1.0.0/enable")
    await deployed_everywhere(node, "shop.upper")
    newer = http_entry("shop.upper", node.upstream + "/echo", version="1.1.0")
    assert (await node.adm("POST", "/services", newer))[0] == 201
    _, body = await node.adm("GET", "/applications")
    assert body["items"] == []
    items = await deployed_everywhere(node, "shop.upper")
    assert {tuple(r["stages"]) for r in items} == {("shop.upper@1.1.0",)}


async def test_purge_and_policy_reach_every_worker(node):
    await deployed_everywhere(node, "validator")
    status, report = await node.adm("POST", "/purge", {"max_idle_s": 0})
    assert status == 200 and report["remaining"] == 0 and report["purged"]
    assert report["freed_bytes"] > 0
    _, body = await node.adm("GET", "/applications")
    assert body["items"] == []
    # The policy is the workers' too: with one application a worker, a second pipe on a
    # worker purges its first at deployment.
    status, policy = await node.adm("PUT", "/purge/policy", {"max_apps": 1})
    assert status == 200 and policy["max_apps"] == 1
    for header in ("validator", "JSON -> XML", "validator | JSON -> XML"):
        await on_every_worker(node, header)
    _, body = await node.adm("GET", "/applications")
    per_worker = Counter(r["worker"] for r in body["items"])
    assert per_worker and max(per_worker.values()) == 1, body["items"]


async def test_a_revoked_client_is_refused_by_every_worker(tmp_path: Path):
    node = Node(
        tmp_path / "node",
        gateway={"workers": WORKERS, "require_client_auth": True},
        purge={"interval_s": 0},
    ).start()
    try:
        status, made = await node.adm("POST", "/clients", {"name": "shop", "allow": ["validator"]})
        assert status == 201
        auth = base64.b64encode(f"{made['id']}:{made['secret']}".encode()).decode()
        headers = {"Authorization": "Basic " + auth}
        seen = await on_every_worker(node, "validator", headers=headers)
        assert set(seen) == set(range(WORKERS)) and all(set(v) == {200} for v in seen.values()), (
            seen
        )
        assert (await node.adm("DELETE", f"/clients/{made['id']}"))[0] == 204
        seen = await on_every_worker(node, "validator", headers=headers)
        assert set(seen) == set(range(WORKERS)) and all(set(v) == {401} for v in seen.values()), (
            seen
        )
    finally:
        node.kill()


async def test_a_worker_that_dies_is_started_again_and_the_other_serves(node):
    await deployed_everywhere(node, "validator")
    victim = node.children()[0]
    os.kill(victim, signal.SIGKILL)
    while _running(victim):  # a connection the kernel gave it as it died is lost with it
        await asyncio.sleep(0.01)
    # From then on the other worker answers every new connection.
    statuses = Counter()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = await node.call("validator", {"a": 1})
            statuses[status] += 1
        except OSError:
            statuses["refused"] += 1
        if len(node.children()) == WORKERS and victim not in node.children():
            health = {(await node.health())["worker"] for _ in range(30)}
            if health == set(range(WORKERS)):
                break
        await asyncio.sleep(0.05)
    else:
        pytest.fail(f"the worker was not started again: {node.tail()}")
    assert statuses[200] > 0 and set(statuses) <= {200}, statuses
    assert "starting it again" in node.tail()


async def test_sigterm_drains_every_worker(node):
    entry = http_entry("shop.slow", node.upstream + "/slow?s=2")
    assert (await node.adm("POST", "/services", entry))[0] == 201
    await deployed_everywhere(node, "shop.slow")
    workers = node.children()
    calls = [asyncio.ensure_future(node.call("shop.slow", "x")) for _ in range(6)]
    await asyncio.sleep(0.8)  # inside the upstream's two seconds, on both workers
    assert node.proc is not None
    node.proc.send_signal(signal.SIGTERM)
    answers = await asyncio.gather(*calls)
    assert [status for status, _ in answers] == [200] * 6
    code = await asyncio.to_thread(node.proc.wait, 45)
    assert code == 0, node.tail()
    assert not [pid for pid in workers if _running(pid)]


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
