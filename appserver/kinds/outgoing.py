"""A stage's outgoing HTTP call: its session, the errors it maps, its capped answer.

A stage of the `http` or `soap` kind owns one `stage_session`, makes its call inside
`map_client_errors(where)` and reads a 2xx answer with `read_answer`. `where` names the
peer in every reason ("upstream (POST https://h/x)", "https://h/soap"). aiohttp's errors
become StageError (/stage-failed), checked in this order:

    ClientConnectorError      cannot connect to WHERE: OS ERROR
    ServerDisconnectedError   WHERE closed the connection
    ClientResponseError       invalid answer from WHERE: FIRST LINE OF ITS MESSAGE
    TimeoutError              no answer from WHERE in time
    ClientError (any other)   the connection to WHERE broke: ERROR
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import aiohttp

from igwcore.problems import StageError

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


@contextlib.contextmanager
def map_client_errors(where: str) -> Iterator[None]:
    """aiohttp's client errors raised in the block as StageError naming `where`."""
    try:
        yield
    except aiohttp.ClientConnectorError as e:
        raise StageError(f"cannot connect to {where}: {e.os_error}") from e
    except aiohttp.ServerDisconnectedError as e:
        raise StageError(f"{where} closed the connection") from e
    except aiohttp.ClientResponseError as e:
        # A parser's message goes on with the bytes it choked on and a caret under them.
        first_line = str(e.message).strip().split("\n", 1)[0]
        raise StageError(f"invalid answer from {where}: {first_line}") from e
    except TimeoutError as e:
        # Before ClientError: aiohttp's ServerTimeoutError is both.
        raise StageError(f"no answer from {where} in time") from e
    except aiohttp.ClientError as e:
        raise StageError(f"the connection to {where} broke: {e}") from e


async def read_limited(
    content: aiohttp.StreamReader,
    limit: int,
    declared: int | None,
    too_large: Callable[[], Exception],
) -> bytes:
    """The whole body of `content`; raise `too_large()` once it (or its declared
    Content-Length) passes `limit` bytes, without reading the rest."""
    if declared is not None and declared > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def read_answer(response: aiohttp.ClientResponse, limit: int, where: str) -> bytes:
    """The whole answer of `where`; StageError once it passes `limit` bytes."""
    return await read_limited(
        response.content,
        limit,
        response.content_length,
        lambda: StageError(f"the answer from {where} is over {limit} bytes"),
    )
