"""A request's body, read whole as SPEC bounds it: at most `limit` bytes (413, read no
further) and within `[gateway] body_timeout_s` however it trickles (408, and the
connection closes: what is left of the body is not read)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from appserver.kinds.outgoing import read_limited
from igwcore.problems import PayloadTooLarge, RequestTimeout


def body_now(request: web.Request, limit: int) -> bytes | None:
    """The body when all of it has arrived already (a small one comes with its head), or
    None: then `read_body` waits for it."""
    content = request.content
    if not content.is_eof() or content.exception() is not None:
        return None
    body = content.read_nowait()
    if len(body) > limit:
        raise PayloadTooLarge(f"the body has more than {limit} bytes", limit=limit)
    return body


async def read_body(request: web.Request, limit: int, timeout_s: float) -> bytes:
    body = body_now(request, limit)
    if body is not None:
        return body
    try:
        async with asyncio.timeout(timeout_s):
            return await read_limited(
                request.content,
                limit,
                request.content_length,
                lambda: PayloadTooLarge(f"the body has more than {limit} bytes", limit=limit),
            )
    except TimeoutError:
        raise late(timeout_s) from None


def late(timeout_s: float) -> RequestTimeout:
    return RequestTimeout(f"the request body did not arrive within {timeout_s:g} s")
