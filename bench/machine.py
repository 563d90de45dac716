"""How fast this machine is against the one the performance issue measured on.

The issue's targets in µs (header -> key, cold assembly, resolution, added latency) were
set on a machine where header -> key for the seed's example header took 13-14 µs
(13.5 here) with the gateway's full header reader, `gateway.header.parse`, then
`canonical` and `key` — code this tree still has, unchanged, as the reader of last
resort. `factor()` times that same code on this machine; a target in µs is judged at
`factor()` times itself, and the table shows both. Ratios (req/s, CPU a request) need no
such scaling: their baseline runs beside them.
"""

from __future__ import annotations

import functools
import time

from gateway import header
from igwcore.descriptor import canonical

REFERENCE_US = 13.5
SEED_HEADER = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


def full_reader(value: str = SEED_HEADER) -> str:
    """Header -> key as the issue measured it: the full reader, canonical form, xxh3_128."""
    return header.key(canonical(header.parse(value)))


@functools.cache
def reader_us() -> float:
    """µs of `full_reader` here: the best of 9 loops of 2,000."""
    best = float("inf")
    for _ in range(9):
        started = time.perf_counter()
        for _ in range(2000):
            full_reader()
        best = min(best, (time.perf_counter() - started) / 2000)
    return best * 1e6


def factor() -> float:
    return max(reader_us() / REFERENCE_US, 1.0)


def target(limit: float, unit: str) -> tuple[str, float]:
    """The target's text ("<= 10 µs (x3.1 here: 31)") and its limit on this machine."""
    scale = factor()
    if scale == 1.0:
        return f"<= {limit:g} {unit}", limit
    here = limit * scale
    return f"<= {limit:g} {unit} (x{scale:.1f} here: {here:.3g})", here
