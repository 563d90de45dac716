"""Export for version control (issue 12): `integration-gateway services export DIR` writes
the repository as files, and `services load DIR` on another gateway makes the same
repository, entry by entry; no secret is written."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import http_entry
from tests.integration.test_openapi import imported, shop  # noqa: F401 - a fixture

ROOT = Path(__file__).parents[2]


async def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def repository_of(gw) -> tuple[list, list]:
    services = (await (await gw.adm("GET", "/services")).json())["items"]
    imports = (await (await gw.adm("GET", "/imports")).json())["items"]
    for record in imports:
        del record["id"], record["created"]
    return services, imports


async def test_export_then_load_round_trips_the_repository(start_gateway, shop, tmp_path):  # noqa: F811
    a = await start_gateway(work=tmp_path / "a")
    tenant = {"type": "string", "default": "north", "in": "header"}
    entry = http_entry("orders.post", f"{shop.base}/api/orders", params={"tenant": tenant})
    entry["target"]["connection"] = "orders"
    assert (await a.adm("POST", "/services", entry)).status == 201
    assert (await a.adm("POST", "/services/xslt@1.0.0/disable")).status == 200
    await imported(a, url=f"{shop.base}/openapi.yaml", prefix="shop", server_url=f"{shop.base}/api")
    folder = tmp_path / "repo"
    done = await cli("services", "export", str(folder), "--admin", a.admin)
    assert done.returncode == 0, done.stderr
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml"))
    assert "services/orders.post@1.0.0.yaml" in files
    assert [f for f in files if f.startswith("imports/")] == ["imports/001-shop.yaml"]
    source = yaml.safe_load((folder / "imports" / "001-shop.yaml").read_text())
    assert (
        source["url"] == f"{shop.base}/openapi.yaml" and source["server_url"] == f"{shop.base}/api"
    )
    b = await start_gateway(work=tmp_path / "b")
    done = await cli("services", "load", str(folder), "--admin", b.admin)
    assert done.returncode == 0, done.stderr
    assert await repository_of(a) == await repository_of(b)
    # Again: nothing changes, and an export of what changed since replaces the old files.
    done = await cli("services", "load", str(folder), "--admin", b.admin)
    assert "loaded 0 services" in done.stdout
    assert (await a.adm("DELETE", "/services/orders.post@1.0.0")).status == 204
    await cli("services", "export", str(folder), "--admin", a.admin)
    assert not (folder / "services" / "orders.post@1.0.0.yaml").exists()


async def test_the_export_holds_no_secret(start_gateway, tmp_path):
    gw = await start_gateway(work=tmp_path, gateway={"require_client_auth": True})
    made = await (await gw.adm("POST", "/clients", {"name": "x", "allow": ["*"]})).json()
    text = await (await gw.adm("GET", "/services:export")).text()
    assert made["secret"] not in text and "argon2" not in text and made["id"] not in text
