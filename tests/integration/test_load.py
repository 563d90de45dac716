"""A load run (issue 9): traffic flows while services are registered, re-registered and
disabled and applications purged and deployed; it must end with no unexpected answer."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from typing import Any

import pytest

from tests.conftest import http_entry

SECONDS = 6.0
CLIENTS = 16


@pytest.mark.slow
async def test_traffic_survives_registrations_purges_and_deploys(
    start_gateway: Any, upstream: str
) -> None:
    gw = await start_gateway(upstream, purge={"max_apps": 50, "on_deploy": True})
    assert (await gw.adm("POST", "/services", http_entry("echo", upstream + "/echo"))).status == 201
    stop = time.monotonic() + SECONDS
    statuses: Counter[int] = Counter()
    unexpected: list[tuple[int, bytes]] = []
    latencies: list[float] = []
    admin_calls: Counter[str] = Counter()

    async def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1
            if i % 4 == 0:  # a miss: a pipe never seen
                header = f"json_to_xml(root=r{n}x{i}) | xml_to_json"
            elif i % 4 == 1:
                header = "validator | JSON -> XML"
            elif i % 4 == 2:
                header = "logger | echo"
            else:
                header = 'validator(schema="{\\"type\\": \\"object\\"}") | echo'
            started = time.monotonic()
            r = await gw.call(header, {"order": {"n": str(i)}})
            latencies.append(time.monotonic() - started)
            statuses[r.status] += 1
            if r.status != 200:
                unexpected.append((r.status, r.body[:300]))

    async def operator() -> None:
        version = 1
        while time.monotonic() < stop:
            version += 1
            # A newer version of echo, then the old one replaced: applications using it go.
            entry = http_entry("echo", upstream + "/echo", version=f"1.{version}")
            r = await gw.adm("POST", "/services", entry)
            admin_calls[f"register {r.status}"] += 1
            r = await gw.adm("PUT", "/services/echo@1.0.0", http_entry("echo", upstream + "/echo"))
            admin_calls[f"replace {r.status}"] += 1
            r = await gw.adm("POST", "/purge", {"max_idle_s": 0})
            admin_calls[f"purge {r.status}"] += 1
            r = await gw.adm("PUT", "/purge/policy", {"max_apps": 40 + version % 20})
            admin_calls[f"policy {r.status}"] += 1
            await asyncio.sleep(0.05)

    await asyncio.gather(operator(), *(client(n) for n in range(CLIENTS)))
    total = sum(statuses.values())
    figures = {
        "requests": total,
        "per_second": round(total / SECONDS),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 2),
        "statuses": dict(statuses),
        "admin": dict(admin_calls),
        "applications_left": len(gw.gateway.applications),
    }
    print("load run:", json.dumps(figures))
    assert total > 500
    assert not unexpected, unexpected[:5]
    assert all(k.endswith(("200", "201", "204")) for k in admin_calls), admin_calls
