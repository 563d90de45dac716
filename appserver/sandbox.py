"""Where work that a client's arguments can make arbitrarily expensive runs (SPEC §10.4):
worker processes that can be stopped at a stage's deadline and are held to
`[gateway] stage_memory_bytes`.

A client's JSON Schema, XML Schema or stylesheet, and a conversion of a large payload, can
cost seconds of CPU or gigabytes from a few hundred bytes of header. In a thread such work
could neither be stopped nor bounded; here it runs in a pebble process pool:

- The caller awaits the work under the stage's deadline (the app server's timeout). When
  the deadline passes, the await is cancelled, pebble's future is cancelled with it, and
  pebble terminates the worker that runs it (it polls every 0.1 s; SIGTERM ends a worker
  at once, even inside C code, since the worker keeps SIGTERM's default action). A new
  worker takes its place. Waiting for a free worker counts toward the deadline.
- Each worker limits its address space (RLIMIT_AS) to what it had at start plus
  `stage_memory_bytes`. Work that needs more fails its allocation (a MemoryError, or
  libxml2's "memory allocation failed") or kills its worker; either way the stage is
  422 /stage-rejected, naming `stage_memory_bytes` and the limit.
- Workers are forked from a forkserver that has imported the built-ins' work (a fresh
  process, not a fork of the gateway with its event loop and threads), so a worker that
  replaces a stopped one starts in milliseconds.

The functions run must be module-level (they travel by name); what they compile from a
client's text they cache in the worker (`repository.builtins.support.compiled`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import pebble

from igwcore.problems import StageError
from repository.builtins.support import isolated, memory_reason, worker_started

T = TypeVar("T")

# The modules whose functions the workers run, imported once by the forkserver.
PRELOAD = [
    "repository.builtins.converters",
    "repository.builtins.validator",
    "repository.builtins.xmlservices",
]
# The figure libxml2 and libxslt give when an allocation fails under the limit.
MEMORY_MESSAGES = ("memory allocation failed", "out of memory", "cannot allocate memory")


class Sandbox:
    """A pool of killable, memory-bounded worker processes, started on first use."""

    def __init__(self, memory_bytes: int, workers: int | None = None) -> None:
        self.memory_bytes = memory_bytes
        self.workers = workers or max(2, os.cpu_count() or 2)
        self._pool: pebble.ProcessPool | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker; cancelling the await stops the worker running it."""
        if self._pool is None or not self._pool.active:
            if self._pool is not None:  # pebble gave this pool up: start another
                self._pool.stop()
            self._pool = self._start()
        future = self._pool.schedule(isolated, args=(fn, *args))
        try:
            return await asyncio.wrap_future(future)
        except MemoryError as e:
            raise StageError(memory_reason(self.memory_bytes), rejected=True) from e
        except pebble.ProcessExpired as e:
            # The worker died under its work: the likeliest cause is the memory limit
            # (a library that aborts when an allocation fails); the worker is replaced.
            raise StageError(memory_reason(self.memory_bytes), rejected=True) from e
        except StageError as e:
            if any(m in e.reason.lower() for m in MEMORY_MESSAGES):
                raise StageError(memory_reason(self.memory_bytes), rejected=True) from e
            raise

    def _start(self) -> pebble.ProcessPool:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return pebble.ProcessPool(
            max_workers=self.workers,
            initializer=_limit_worker,
            initargs=(self.memory_bytes,),
            context=context,
        )

    def close(self) -> None:
        """Stop every worker now, whatever it runs (shutdown)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=5)


def _limit_worker(memory_bytes: int) -> None:
    """In each new worker: its SIGTERM ends it at once; its memory is bounded."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.nice(5)  # the gateway's own work comes first when the cores are busy
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    worker_started(memory_bytes)


def _address_space() -> int:
    """This process's virtual memory now, in bytes (Linux /proc)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
