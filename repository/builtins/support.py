"""What the built-ins share: where their work runs, how they refuse a payload, how they
read one, and what their compiled schemas and stylesheets hold in memory.

Where work runs (SPEC §10.4). Linear work on a small payload runs inline, on the event
loop: it costs less than a hand-off. Everything else runs under an `Isolation` (the
gateway's `appserver.sandbox.Sandbox`: killable worker processes held to
`stage_memory_bytes`): work on a large payload, and all work whose cost a client's
argument decides (a JSON Schema, an XML Schema, a stylesheet), which even a tiny payload
can make cost seconds or gigabytes. What such work compiles from a client's text is kept
in the worker that compiled it (`compiled`), within a byte bound of its own.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from cachetools import LRUCache
from lxml import etree

from igwcore.message import Message
from igwcore.problems import ArgumentError, StageError
from repository import xmlsafe

INLINE_LIMIT = 64 * 1024  # linear work on payloads below this runs on the event loop
MAX_REASON = 500
T = TypeVar("T")
JSON = "application/json"
XML = "application/xml"

# What a compiled schema or stylesheet holds, as fixed bytes plus bytes per byte of its
# source. Measured once: tracemalloc over 200 jsonschema compilations; for lxml, whose
# memory libxml2 allocates out of tracemalloc's sight, RSS growth over 500-2000
# compilations of a 0.5 KB and a 10-18 KB source (lxml 6.1, libxml2 2.14, libxslt 1.1.43).
JSON_SCHEMA_COST = (0, 13)
# The XSD figures were doubled when RSS over many compilations came out at twice them.
XSD_COST = (6 * 1024, 36)
XSLT_COST = (48 * 1024, 32)


class Isolation(Protocol):
    """Runs a module-level function where it can be stopped at the stage's deadline (a
    cancelled await stops it) and held to `stage_memory_bytes`."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...


def memory_reason(limit: int) -> str:
    return f"the stage would hold more than stage_memory_bytes ({limit} bytes) and was stopped"


# -- in a worker ---------------------------------------------------------------------------

# Compiled schemas and stylesheets of this worker, by (what, source): at most this many
# bytes of them by their measured cost (resized by `worker_started`).
_compiled: LRUCache[tuple[str, str], Any] = LRUCache(maxsize=32 * 1024 * 1024)


_memory_bytes = 0  # this worker's stage_memory_bytes (0: not a worker)


def worker_started(memory_bytes: int) -> None:
    """Size this worker's cache of compiled documents: a quarter of its memory limit."""
    global _compiled, _memory_bytes
    _compiled = LRUCache(maxsize=max(1, memory_bytes // 4), getsizeof=_cost_of)
    _memory_bytes = memory_bytes


def _cost_of(value: Any) -> int:
    return int(getattr(value, "igw_cost", 1))


def compiled(what: str, source: str, make: Callable[[str], T], measured: tuple[int, int]) -> T:
    """The compilation of `source` (`make(source)`), cached in this worker."""
    key = (what, source)
    found = _compiled.get(key)
    if found is None:
        found = _Compiled(make(source), cost(measured, source))
        if found.igw_cost <= _compiled.maxsize:
            _compiled[key] = found
    return found.value


class _Compiled:
    __slots__ = ("igw_cost", "value")

    def __init__(self, value: Any, igw_cost: int) -> None:
        self.value = value
        self.igw_cost = igw_cost


def isolated(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a worker. When memory runs out, this worker's caches go with the
    failed work, so that the next task has the whole limit again; any other error is
    made one that travels back whole (a library's own exception may not unpickle)."""
    before = _resident(reset_peak=True)
    try:
        return fn(*args)
    except MemoryError:
        _compiled.clear()
        gc.collect()
        raise
    except Exception as e:
        # libxml2 and libxslt report a failed allocation as a failed expression or an
        # unknown error; what tells it apart is how far the work grew before it failed.
        if _memory_bytes and _resident() - before > _memory_bytes // 4:
            _compiled.clear()
            gc.collect()
            raise MemoryError(memory_reason(_memory_bytes)) from None
        if isinstance(e, StageError | ArgumentError):
            raise
        raise StageError(f"{type(e).__name__}: {e}"[:MAX_REASON]) from None


def _resident(*, reset_peak: bool = False) -> int:
    """This process's peak resident memory (Linux VmHWM), in bytes; with `reset_peak`,
    its current one, and the peak is reset to it."""
    if reset_peak:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # resets VmHWM to VmRSS
        except OSError:
            pass
    field = "VmRSS:" if reset_peak else "VmHWM:"
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cost(measured: tuple[int, int], source: str) -> int:
    """The bytes a compilation of `source` holds, by its measured (fixed, per byte) cost."""
    fixed, per_byte = measured
    return fixed + per_byte * len(source.encode())


def reject(reason: str) -> StageError:
    """The payload is refused (422 `/stage-rejected`) for `reason`, cut to MAX_REASON."""
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return StageError(reason, rejected=True)


def load_json(body: bytes) -> Any:
    """The JSON value of a payload, or its rejection."""
    return message_json(Message(body, JSON))


def message_json(message: Message) -> Any:
    """The JSON value of a message's payload, parsed once for every stage that reads the
    same message (`Message.json`), or its rejection."""
    try:
        return message.json()
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
