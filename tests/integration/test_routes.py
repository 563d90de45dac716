"""SPEC §10.7: each route has its own pool and deadline, so a hung upstream delays only its
own route, and a client that goes away cancels its upstream call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import problem


class Hung:
    """An upstream that takes requests and never answers (or answers, then stalls)."""

    def __init__(self) -> None:
        self.arrived = 0
        self.gone: list[float] = []  # when each request's connection went away

    async def hang(self, request: web.Request) -> web.StreamResponse:
        self.arrived += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.gone.append(time.monotonic())
            raise
        return web.Response()

    async def stall(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first part, then nothing")
        await asyncio.sleep(3600)
        return response


@pytest.fixture
async def hung() -> AsyncIterator[tuple[Hung, str]]:
    peer = Hung()
    app = web.Application()
    app.router.add_get("/stall", peer.stall)
    app.router.add_route("*", "/{tail:.*}", peer.hang)
    server = TestServer(app, host="127.0.0.1", handler_cancellation=True)
    await server.start_server()
    yield peer, f"http://127.0.0.1:{server.port}"
    await server.close()


async def two_routes(start_gateway: Any, hung_url: str, upstream: str) -> Any:
    """A gateway with /legacy to a good upstream and /hung (a pool of 2, 1 s) to a hung one."""
    hung_route = {"prefix": "/hung", "upstream": hung_url, "timeout_s": 1, "max_connections": 2}
    return await start_gateway(upstream, routes=[hung_route])


async def test_a_hung_upstream_delays_only_its_own_route(
    start_gateway: Any, hung: tuple[Hung, str], upstream: str
) -> None:
    peer, url = hung
    gw = await two_routes(start_gateway, url, upstream)
    started = time.monotonic()
    stuck = [
        asyncio.create_task(gw.call(None, b"x", "text/plain", path=f"/hung/{i}")) for i in range(20)
    ]
    await asyncio.sleep(0.2)
    fast = time.monotonic()
    r = await gw.call(None, b"hello", "text/plain", path="/legacy/echo")
    assert r.status == 200 and r.body == b"hello"
    assert time.monotonic() - fast < 0.5, "another route waited behind the hung one"
    for task in stuck:
        answer = await task
        body = await problem(answer, 504, "upstream-timeout")
        assert body["upstream"] == url
    # Its pool held 2 at a time; the others waited for it within the same deadline.
    assert peer.arrived <= 2 + 2
    assert time.monotonic() - started < 1.0 + 1.5


async def test_a_client_that_goes_away_cancels_its_upstream_call(
    start_gateway: Any, hung: tuple[Hung, str], upstream: str
) -> None:
    peer, url = hung
    gw = await start_gateway(
        upstream, routes=[{"prefix": "/hung", "upstream": url, "timeout_s": 30}]
    )
    host, port = gw.base.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /hung/wait HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    for _ in range(50):
        if peer.arrived:
            break
        await asyncio.sleep(0.05)
    assert peer.arrived == 1
    left = time.monotonic()
    writer.close()
    for _ in range(40):
        if peer.gone:
            break
        await asyncio.sleep(0.05)
    assert peer.gone and peer.gone[0] - left < 1.0


async def test_a_pause_in_the_upstreams_body_past_timeout_cuts_the_answer(
    start_gateway: Any, hung: tuple[Hung, str], upstream: str
) -> None:
    _, url = hung
    gw = await two_routes(start_gateway, url, upstream)
    started = time.monotonic()
    async with gw.http.get(gw.base + "/hung/stall") as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):  # cut: the body is short
            await response.read()
    assert time.monotonic() - started < 1.0 + 1.0
