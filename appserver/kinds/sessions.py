"""The HTTP client session a stage of the `http` or `soap` kind owns, and what it costs."""

from __future__ import annotations

import aiohttp

CONNECTION_LIMIT = 32
KEEPALIVE_S = 30.0
# Measured with tracemalloc: a ClientSession with its TCPConnector is ~5 KiB; a kept-alive
# connection (transport, protocol, parser and buffers) is of the order of 32 KiB, and a
# stage usually keeps one.
SESSION_BYTES = 8 * 1024 + 32 * 1024


def stage_session(timeout_s: float) -> aiohttp.ClientSession:
    """A session of its own for one stage: keeps no cookies; `timeout_s` is a backstop only,
    as the app server times each stage out on its own."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTION_LIMIT, keepalive_timeout=KEEPALIVE_S),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )
