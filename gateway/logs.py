"""Structured logs: every line carries the request id of the request it belongs to."""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


# A request id the gateway makes: 32 hex digits, this process's random half then a count,
# unique without a system call a request (uuid4 reads the kernel's random source each
# time). Not secret, and not meant to be: it names a request in logs and answers.
_PROCESS = os.urandom(8).hex()
_COUNT = itertools.count(1)


def new_request_id(given: str | None = None) -> str:
    """Keep a client's X-Request-Id when it is sane, else make one."""
    if given and len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return f"{_PROCESS}{next(_COUNT):016x}"


def _fresh_after_fork() -> None:
    global _PROCESS, _COUNT
    _PROCESS, _COUNT = os.urandom(8).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_fresh_after_fork)


class _RequestIdFilter(logging.Filter):
    def __init__(self, worker: int | None = None) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.worker = self.worker
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        worker = getattr(record, "worker", None)
        if worker is not None:
            line["worker"] = worker
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# A node's worker says which it is: `worker 1` after the logger's name.
WORKER_FORMAT = "%(asctime)s %(levelname)s %(name)s worker %(worker)s [%(request_id)s] %(message)s"


def setup(
    log_format: str = "text",
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    *,
    worker: int | None = None,
) -> None:
    """Log to `stream` (stderr) one line an event, text or JSON, with the request id (and
    the worker's number, in a node's worker)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RequestIdFilter(worker))
    text = TEXT_FORMAT if worker is None else WORKER_FORMAT
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(text))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Two lines a purge otherwise ("Running job", "executed successfully"): the gateway
    # logs what a purge did itself.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
