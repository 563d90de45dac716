"""What the built-ins share: where their work runs, how they refuse a payload, how they
read one, and what their compiled schemas and stylesheets hold in memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from lxml import etree

from igwcore.problems import StageError
from repository import xmlsafe

INLINE_LIMIT = 64 * 1024
MAX_REASON = 500
T = TypeVar("T")
JSON = "application/json"
XML = "application/xml"

# What a compiled schema or stylesheet holds, as fixed bytes plus bytes per byte of its
# source. Measured once: tracemalloc over 200 jsonschema compilations; for lxml, whose
# memory libxml2 allocates out of tracemalloc's sight, RSS growth over 500-2000
# compilations of a 0.5 KB and a 10-18 KB source (lxml 6.1, libxml2 2.14, libxslt 1.1.43).
JSON_SCHEMA_COST = (0, 13)
XSD_COST = (3 * 1024, 18)
XSLT_COST = (48 * 1024, 32)


async def offload(size: int, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
    """`fn(*args)` inline for a small payload; in a worker thread for a big one, or when
    the work is not bounded by the payload's size (a client's stylesheet or regex can
    make a small payload cost seconds, and the event loop must not wait on it)."""
    if bounded and size < INLINE_LIMIT:
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


def cost(measured: tuple[int, int], source: str) -> int:
    """The bytes a compilation of `source` holds, by its measured (fixed, per byte) cost."""
    fixed, per_byte = measured
    return fixed + per_byte * len(source.encode())


def reject(reason: str) -> StageError:
    """The payload is refused (422 `/stage-rejected`) for `reason`, cut to MAX_REASON."""
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return StageError(reason, rejected=True)


class Pool(Generic[T]):
    """Compiled lxml objects keep per-call state (their error log): one a concurrent use."""

    def __init__(self, make: Callable[[], T], first: T) -> None:
        self._make = make
        self._free = [first]
        self._lock = threading.Lock()
        self.size = 1

    @contextlib.contextmanager
    def take(self) -> Iterator[T]:
        with self._lock:
            item = self._free.pop() if self._free else None
            if item is None:
                self.size += 1
        if item is None:
            item = self._make()
        try:
            yield item
        finally:
            with self._lock:
                self._free.append(item)


def load_json(body: bytes) -> Any:
    """The JSON value of a payload, or its rejection."""
    try:
        return json.loads(body)
    except RecursionError as e:
        raise reject("JSON nested too deeply") from e
    except ValueError as e:
        raise reject(f"not well-formed JSON: {e}") from e


def load_xml(body: bytes) -> etree._Element:
    """The XML document of a payload (by `xmlsafe`: no DOCTYPE, no entities), or its rejection."""
    try:
        return xmlsafe.parse(body)
    except xmlsafe.XmlRefused as e:
        raise reject(e.reason) from e
