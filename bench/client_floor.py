"""What an upstream call costs the gateway's CPU: aiohttp's client against the floor.

    pip install httptools             # only for this measurement
    python -m bench.client_floor      # (starts bench.apps upstream on CPU 1 itself)

Why the pass-through row stops short of its target: a `[[routes]]` request is an aiohttp
server request plus an aiohttp client request. This times, in one process on CPU 0, 32
concurrent keep-alive POSTs of the hit path's body to `bench.apps upstream` two ways:
through an `aiohttp.ClientSession` set up as the gateway's proxy sets it up, and through
the least a client can do — one pooled connection each, the request written in one
`transport.write`, the answer framed by httptools (llhttp) — and prints the CPU time a
request of each. The difference is what a purpose-built upstream client could win.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.http_rows import BODY
from bench.procs import CLIENT_CPU, free_port, python, servers

N = 4000
CONNECTIONS = 32


async def with_aiohttp(url: str) -> float:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS),
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )
    body = BODY.encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": "127.0.0.1"}

    async def worker(n: int) -> None:
        for _ in range(n):
            async with asyncio.timeout(30):
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()

    async with session:
        await worker(50)
        started = time.process_time()
        await asyncio.gather(*(worker(N // CONNECTIONS) for _ in range(CONNECTIONS)))
        return (time.process_time() - started) / N * 1e6


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[bytes] | None = None
        self.body: list[bytes] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None:
            waiter.set_result(b"".join(self.body))
        self.body = []

    async def request(self, message: bytes) -> bytes:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(message)
        return await self.waiter


async def at_the_floor(port: int) -> float:
    loop = asyncio.get_running_loop()
    connections = [
        (await loop.create_connection(_Connection, "127.0.0.1", port))[1]
        for _ in range(CONNECTIONS)
    ]
    body = BODY.encode()
    message = (
        b"POST /up/orders HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"X-Forwarded-For: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s" % (port, len(body), body)
    )

    async def worker(connection: _Connection, n: int) -> None:
        for _ in range(n):
            async with asyncio.timeout(30):
                await connection.request(message)

    await worker(connections[0], 50)
    started = time.process_time()
    await asyncio.gather(*(worker(c, N // CONNECTIONS) for c in connections))
    cpu = (time.process_time() - started) / N * 1e6
    for c in connections:
        c.transport.close()
    return cpu


def main() -> None:
    import os

    port = free_port()
    spec = ("upstream", [python(), "-m", "bench.apps", "upstream", str(port)], CLIENT_CPU,
            f"http://127.0.0.1:{port}/health", None)  # fmt: skip
    os.sched_setaffinity(0, {0})
    with servers(spec):
        url = f"http://127.0.0.1:{port}/up/orders"
        rounds = [
            (asyncio.run(with_aiohttp(url)), asyncio.run(at_the_floor(port))) for _ in range(3)
        ]
    client = sorted(a for a, _ in rounds)[1]
    floor = sorted(b for _, b in rounds)[1]
    print(f"aiohttp ClientSession  {client:6.0f} µs CPU a request (median of 3)")
    print(f"httptools, pooled      {floor:6.0f} µs CPU a request")
    print(f"ratio                  {client / floor:6.2f}")


if __name__ == "__main__":
    main()
