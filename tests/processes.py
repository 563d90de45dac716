"""Programs the tests run as processes of their own on loopback: a free port to give one,
starting it until it answers, stopping it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    argv: list[str], ready_url: str, *, what: str, cwd: Path | None = None, seconds: float = 30
) -> subprocess.Popen[bytes]:
    """`argv` in a session of its own, once a GET of `ready_url` answers 200; the test
    fails with the end of its stderr when it exits or does not answer within `seconds`."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(ready_url, timeout=1).status_code == 200:
                return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"{what} did not start: {err[-2000:]}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes], seconds: float = 10) -> int:
    """SIGTERM, then its exit status; its whole session is killed if it outlives `seconds`."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(seconds)
        raise
