"""Reading a body whole, but never more of it than a limit."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp


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
