"""Peers that misbehave (SPEC §10, issue 9's fault peers): hang, reset, answer garbage,
half an answer, or an endless body, behind an `http` stage, a `soap` stage and a route.
Each is a clear problem within its deadline, and the gateway keeps serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Running, http_entry, problem
from tests.soap import wsdls

MODES = ("hang", "reset", "garbage", "half", "endless")


class Peer:
    """A raw-socket server whose answer is chosen by the path: /hang, /reset, ..."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            mode = path.strip("/").split("?")[0].split("/")[-1]
            if mode == "hang":
                await asyncio.sleep(3600)
            elif mode == "reset":
                writer.transport.abort()
                return
            elif mode == "garbage":
                writer.write(b"\x00\x01 this is no HTTP at all \xff\r\n\r\n")
            elif mode in ("half", "halflarge"):
                length = b"1000" if mode == "half" else b"10000000"
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
                writer.write(b"Content-Length: " + length + b"\r\n\r\nonly a little")
            elif mode == "endless":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
                writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
                chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
                while True:
                    writer.write(chunk)
                    await writer.drain()
            await writer.drain()
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    server = Peer()
    await server.start()
    yield server
    await server.close()


async def healthy_meanwhile(gw: Running, call: Any) -> Any:
    """`call`'s answer; while it runs, health must answer within half a second."""
    task = asyncio.create_task(call)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    health = await gw.call(None, path="/_gateway/health", method="GET")
    assert health.status == 200 and time.monotonic() - started < 0.5
    return await task


EXPECTED_HTTP = {
    "hang": (504, "stage-timeout"),
    "reset": (502, "stage-failed"),
    "garbage": (502, "stage-failed"),
    "half": (502, "stage-failed"),
    "endless": (502, "stage-failed"),  # past max_body_bytes
}


@pytest.mark.parametrize("mode", MODES)
async def test_an_http_stage_against_a_faulty_peer(
    start_gateway: Any, peer: Peer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await start_gateway(gateway={"stage_timeout_s": 1, "max_body_bytes": 1 << 20})
    entry = http_entry(f"faulty_{mode}", f"http://127.0.0.1:{peer.port}/{mode}")
    assert (await gw.adm("POST", "/services", entry)).status == 201
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        answer = await healthy_meanwhile(gw, gw.call(f"faulty_{mode}", b"x", "text/plain"))
    status, slug = EXPECTED_HTTP[mode]
    body = await problem(answer, status, slug)
    assert body["stage"] == 0 and body["service"] == f"faulty_{mode}@1.0.0"
    assert time.monotonic() - started < 1 + 1
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("mode", MODES)
async def test_a_soap_stage_against_a_faulty_peer(
    start_gateway: Any, peer: Peer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await start_gateway(gateway={"stage_timeout_s": 1, "max_body_bytes": 1 << 20})
    address = f"http://127.0.0.1:{peer.port}/{mode}"
    document = wsdls.stock(address)
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", "document": document, "prefix": mode})
    assert r.status == 201, await r.text()
    with caplog.at_level(logging.INFO):
        answer = await healthy_meanwhile(
            gw, gw.call(f"{mode}.GetLastTradePrice", {"tickerSymbol": "X"})
        )
    status, slug = EXPECTED_HTTP[mode]
    await problem(answer, status, slug)
    assert "Traceback" not in caplog.text


EXPECTED_ROUTE = {
    "hang": (504, "upstream-timeout"),
    "reset": (502, "upstream-failed"),
    "garbage": (502, "upstream-failed"),
    # A short answer that declares its length is read whole before it is sent on: an
    # upstream that breaks it off is still a 502 (gateway.proxy, BUFFERED_BYTES).
    "half": (502, "upstream-failed"),
}


# halflarge: a short answer that declares more than BUFFERED_BYTES, so it streams.
@pytest.mark.parametrize("mode", [*MODES, "halflarge"])
async def test_a_route_against_a_faulty_upstream(
    start_gateway: Any, peer: Peer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    route = {"prefix": "/faulty", "upstream": f"http://127.0.0.1:{peer.port}", "timeout_s": 1}
    gw = await start_gateway(routes=[route])
    with caplog.at_level(logging.INFO):
        if mode in EXPECTED_ROUTE:
            answer = await healthy_meanwhile(gw, gw.call(None, b"", path=f"/faulty/{mode}"))
            await problem(answer, *EXPECTED_ROUTE[mode])
        else:
            # The answer began: an endless body goes on as long as the client reads (its
            # own choice), or ends with the client's connection cut.
            async def read_some() -> bytes:
                async with gw.http.get(gw.base + f"/faulty/{mode}") as r:
                    assert r.status == 200
                    got = b""
                    with contextlib.suppress(Exception):
                        async for chunk in r.content.iter_any():
                            got += chunk
                            if len(got) > 1 << 20:
                                break
                    return got

            got = await healthy_meanwhile(gw, read_some())
            assert got.startswith(b"only a little") or got.startswith(b"x")
    assert "Traceback" not in caplog.text
