"""SPEC §10.5: slow, idle and oversized clients. Raw sockets, as a hostile client writes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HEADER, Running

FAST = {"header_timeout_s": 1.0, "body_timeout_s": 1.0}


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def read_answer(
    reader: asyncio.StreamReader, timeout: float = 5.0
) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one answer, or status 0 when the connection just closed."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, ConnectionError):
        return 0, {}, b""
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def test_a_huge_head_is_431_problem_json(gw: Running) -> None:
    reader, writer = await connect(gw.base)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
    writer.write(f"{HEADER}: ".encode() + b"logger | " * 116_000 + b"logger\r\n")
    writer.write(b"Content-Length: 2\r\n\r\n{}")
    await writer.drain()
    status, headers, body = await read_answer(reader)
    assert status == 431 and headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"].endswith("/header-too-large") and problem["limit"] == 8192 + 65536
    writer.close()


async def test_many_small_fields_are_bounded_in_all(gw: Running) -> None:
    field = [b"X-Filler-%d: %s\r\n" % (i, b"y" * 90) for i in range(1000)]
    fields = b"".join(field)  # ~100 KiB
    reader, writer = await connect(gw.base)
    writer.write(b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    status, _, body = await read_answer(reader)
    assert status == 431 and json.loads(body)["limit"] == 8192 + 65536
    writer.close()
    # A head within the bound is served, however many fields it has.
    reader, writer = await connect(gw.base)
    writer.write(b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\n" + b"".join(field[:600]) + b"\r\n")
    status, _, _ = await read_answer(reader)
    assert status == 200
    writer.close()


async def test_what_passes_the_limit_is_dropped_not_buffered(gw: Running) -> None:
    chunk = b"X-Pad: " + b"z" * 65_000 + b"\r\n"
    writers = []
    before = rss()
    for _ in range(60):  # 60 heads of ~900 KiB each, none of them ended
        _, writer = await connect(gw.base)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(14):
            writer.write(chunk)
        writers.append(writer)
    for writer in writers:
        await writer.drain()
    await asyncio.sleep(0.5)
    grown = rss() - before
    assert grown < 30 * 1024 * 1024, f"{grown} bytes held for 54 MB of unfinished heads"
    for writer in writers:
        writer.close()


async def test_a_head_past_a_mebibyte_is_cut_off(gw: Running) -> None:
    reader, writer = await connect(gw.base)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"z" * 3_000_000 + b"\r\n\r\n")
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await writer.drain()
        status, _, _ = await read_answer(reader)
        assert status == 0
        raise ConnectionError("closed without an answer")


async def trickle(writer: asyncio.StreamWriter, first: bytes) -> None:
    """`first`, then a byte a 0.3 s: never a whole head, nor a body, in time."""
    writer.write(first)
    with contextlib.suppress(ConnectionError):
        for _ in range(20):
            await asyncio.sleep(0.3)
            writer.write(b" ")
            await writer.drain()


async def test_a_trickled_head_is_408_within_header_timeout(start_gateway: Any) -> None:
    gw = await start_gateway(gateway=FAST)
    reader, writer = await connect(gw.base)
    started = time.monotonic()
    sending = asyncio.create_task(trickle(writer, b"GET /_gateway/health HTTP/1.1\r\nX-A: "))
    status, headers, body = await read_answer(reader)
    sending.cancel()
    assert status == 408 and json.loads(body)["type"].endswith("/request-timeout")
    assert headers["connection"] == "close"
    assert time.monotonic() - started < 2.5
    writer.close()


async def test_an_idle_connection_is_closed_quietly(start_gateway: Any) -> None:
    gw = await start_gateway(gateway=FAST)
    reader, writer = await connect(gw.base)
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing said
    assert 0.8 < time.monotonic() - started < 2.5
    # And after an answer, the keep-alive connection's next head is due as soon.
    reader, writer = await connect(gw.base)
    writer.write(b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, _ = await read_answer(reader)
    assert status == 200
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert time.monotonic() - started < 2.5


async def test_a_trickled_body_is_cut_at_body_timeout(start_gateway: Any) -> None:
    gw = await start_gateway(gateway=FAST)
    reader, writer = await connect(gw.base)
    writer.write(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"{HEADER}: validator\r\nContent-Length: 100\r\n\r\n".encode()
    )
    started = time.monotonic()
    for _ in range(10):
        writer.write(b" ")
        await asyncio.sleep(0.3)
        if reader.at_eof() or len(reader._buffer):
            break
    status, _, body = await read_answer(reader)
    assert status == 408 and json.loads(body)["type"].endswith("/request-timeout")
    assert time.monotonic() - started < 2.5
    writer.close()


async def test_the_admin_listener_keeps_the_same_timers(start_gateway: Any) -> None:
    gw = await start_gateway(gateway=FAST)
    reader, writer = await connect(gw.admin)
    writer.write(b"GET /services HTTP/1.1\r\n")
    status, _, _ = await read_answer(reader)
    assert status == 408
    writer.close()


async def test_connections_past_max_connections_wait_their_turn(start_gateway: Any) -> None:
    gw = await start_gateway(gateway={"max_connections": 2, "header_timeout_s": 5})
    held = [await connect(gw.base) for _ in range(2)]  # idle: they hold both places
    await asyncio.sleep(0.1)
    reader, writer = await connect(gw.base)
    writer.write(b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.5)
    held[0][1].close()  # one leaves: the waiting one is served
    status, _, _ = await read_answer(reader, timeout=3)
    assert status == 200
    for _, w in held[1:]:
        w.close()
    writer.close()


async def test_slow_uploads_do_not_pin_applications(start_gateway: Any) -> None:
    policy = {"max_apps": 2, "on_deploy": True}
    gw = await start_gateway(gateway={"body_timeout_s": 10}, purge=policy)
    uploads = []
    for i in range(4):  # four applications whose bodies crawl in
        reader, writer = await connect(gw.base)
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"{HEADER}: logger(level=INFO, file=u{i}.txt)\r\nContent-Length: 2\r\n\r\n".encode()
        )
        await writer.drain()
        uploads.append((reader, writer))
    await asyncio.sleep(0.3)
    # None of them is in flight, so a new miss finds room rather than 503 /no-capacity.
    r = await gw.call("logger(file=other.txt)", {})
    assert r.status == 200, r.body
    for reader, writer in uploads:
        writer.write(b"{}")
        status, _, _ = await read_answer(reader)
        assert status == 200  # assembled again if it was purged meanwhile
        writer.close()
