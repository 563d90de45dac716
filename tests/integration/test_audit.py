"""The audit (SPEC §9): a record of every integration request, hits, misses and refusals,
in GET /audit within a second, filtered and limited, kept across a restart."""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import problem
from tests.processes import free_port, start, stop

REQUIRED = {"require_client_auth": True}


def basic(id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{id}:{secret}".encode()).decode()}


@pytest.fixture
async def ga(start_gateway):
    return await start_gateway(gateway=REQUIRED)


async def client_of(gw, allow):
    r = await gw.adm("POST", "/clients", {"name": "shop", "allow": allow})
    body = await r.json()
    return body["id"], basic(body["id"], body["secret"])


async def audit(gw, query=""):
    r = await gw.adm("GET", "/audit" + query)
    assert r.status == 200, await r.text()
    return (await r.json())["items"]


async def test_every_outcome_leaves_a_record(ga):
    id, auth = await client_of(ga, ["validator"])
    miss = await ga.call("validator", {"a": 1}, headers=auth)
    hit = await ga.call("validator", {"a": 1}, headers=auth)
    refused = await ga.call("validator | JSON -> XML", {"a": 1}, headers=auth)
    await ga.call("validator", {"a": 1})  # 401
    await ga.call("validator |", {"a": 1}, headers=auth)  # 400
    await ga.call("nothing.here", {"a": 1}, headers=auth)  # 404
    records = await audit(ga)
    assert [r["status"] for r in records] == [404, 400, 401, 403, 200, 200]
    r404, r400, r401, r403, rhit, rmiss = records
    assert rmiss["client"] == id and rmiss["key"] == miss.headers["Integration-App"]
    assert rmiss["stages"] == ["validator@1.0.0"] and rhit["key"] == hit.headers["Integration-App"]
    assert r403["stages"] == ["validator@1.0.0", "json_to_xml@1.0.0"]
    assert r403["key"] == refused.headers["Integration-App"]
    assert r401["client"] is None and r401["key"] is None
    assert r400["client"] == id and r400["key"] is None
    assert r404["stages"] == [] and r404["key"]
    for r in records:
        received = datetime.fromisoformat(r["received"])
        assert r["received"].endswith("Z") and len(r["received"]) == len("2026-01-01T00:00:00.000Z")
        assert datetime.fromisoformat(r["finished"]) >= received
        assert set(r) == {"client", "key", "stages", "received", "finished", "status"}


async def test_records_are_written_within_a_second_without_being_asked(ga):
    _, auth = await client_of(ga, ["*"])
    await ga.call("validator", {"a": 1}, headers=auth)
    store = ga.gateway.audit.store
    deadline = time.monotonic() + 1.0
    while not await asyncio.to_thread(store.query):
        assert time.monotonic() < deadline, "no record written within one second"
        await asyncio.sleep(0.05)


async def test_audit_filters_by_client_key_since_and_limit(ga):
    a, auth_a = await client_of(ga, ["*"])
    b, auth_b = await client_of(ga, ["*"])
    for _ in range(3):
        await ga.call("validator", {"a": 1}, headers=auth_a)
    key = (await ga.call("JSON -> XML", {"a": 1}, headers=auth_b)).headers["Integration-App"]
    assert len(await audit(ga, f"?client={a}")) == 3
    assert [r["client"] for r in await audit(ga, f"?key={key}")] == [b]
    assert len(await audit(ga, "?limit=2")) == 2
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert await audit(ga, "?since=" + future.replace("+00:00", "Z")) == []
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert len(await audit(ga, "?since=" + past.replace("+", "%2B"))) == 4


@pytest.mark.parametrize(
    "query, field",
    [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=x", "limit"),
        ("?since=May", "since"),
        ("?since=2026-01-01T00:00:00", "since"),
    ],
)
async def test_a_bad_audit_query_is_422(ga, query, field):
    j = await problem(await ga.adm("GET", "/audit" + query), 422, "invalid-entry")
    assert j["errors"][0]["field"] == field


async def test_audit_is_off_without_clients_unless_enabled(start_gateway):
    off = await start_gateway()
    await problem(await off.adm("GET", "/audit"), 404, "not-found")
    on = await start_gateway(audit={"enabled": True}, work=off.gateway.config.base_dir / "on")
    await on.call("validator", {"a": 1})
    (record,) = await audit(on)
    assert record["client"] is None and record["status"] == 200


async def test_the_audit_counts_what_it_wrote_in_metrics(ga):
    _, auth = await client_of(ga, ["*"])
    await ga.call("validator", {"a": 1}, headers=auth)
    await audit(ga)
    text = await (await ga.adm("GET", "/metrics")).text()
    assert "igw_audit_written_total 1.0" in text and "igw_audit_dropped_total 0.0" in text


ROOT = Path(__file__).parents[2]


def test_records_survive_a_sigterm_and_a_restart(tmp_path):
    """The real process: records of requests answered just before SIGTERM are written by
    the stop, and read back by the next start."""
    port, admin = free_port(), free_port()
    (tmp_path / "config.toml").write_text(
        f"[gateway]\nport = {port}\nrequire_client_auth = true\n[admin]\nport = {admin}\n"
    )
    argv = [sys.executable, "-m", "gateway", "serve", "--config", str(tmp_path / "config.toml")]
    health = f"http://127.0.0.1:{port}/_gateway/health"
    proc = start(argv, health, what="the gateway", cwd=ROOT)
    try:
        made = httpx.post(
            f"http://127.0.0.1:{admin}/clients", json={"name": "x", "allow": ["*"]}
        ).json()
        auth = (made["id"], made["secret"])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for _ in range(5):
                r = c.post(
                    "/", json={"a": 1}, auth=auth, headers={"Integration-Config": "validator"}
                )
                assert r.status_code == 200
    finally:
        assert stop(proc) == 0
    proc = start(argv, health, what="the gateway again", cwd=ROOT)
    try:
        items = httpx.get(f"http://127.0.0.1:{admin}/audit").json()["items"]
        assert [r["status"] for r in items] == [200] * 5
        assert {r["client"] for r in items} == {made["id"]}
        again = httpx.post(
            f"http://127.0.0.1:{port}/",
            json={"a": 1},
            auth=auth,
            headers={"Integration-Config": "validator"},
        )
        assert again.status_code == 200  # the client, too, survived
    finally:
        stop(proc)
