"""Watching the event loop from a test: how long it went between turns."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def loop_gaps(interval: float) -> AsyncIterator[list[float]]:
    """The times between the wake-ups of a task sleeping `interval` at a time, while the
    block runs: a blocked event loop shows as a gap much longer than `interval`."""
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(interval)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        yield gaps
    finally:
        ticker.cancel()
