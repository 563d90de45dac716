"""The processes the demo starts: each with a name to report it by and a log of its own.

Each runs in a session of its own, so that a Ctrl-C in the terminal reaches the demo
alone and the demo stops them in order: a child that exits is then always news.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_S = 30
STOP_S = 15
TAIL_LINES = 20


class ChildDied(Exception):
    """A child exited (or never answered) while the demo needed it."""

    def __init__(self, child: Child, why: str) -> None:
        super().__init__(f"{child.name} {why}")
        self.child = child
        self.why = why

    def report(self) -> str:
        """What to tell the user: who, why, and the end of its log."""
        return (
            f"examples.demo: {self.child.name} {self.why}; the end of its log, "
            f"{self.child.log}:\n{self.child.tail()}"
        )


def taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a listener could not bind `port` now (SO_REUSEADDR as servers set it, so a
    connection in TIME_WAIT does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


@dataclass
class Child:
    name: str  # as the demo's messages say it: "the SOAP peer"
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, cwd: Path) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env=_with_examples(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def check(self) -> None:
        """Raise `ChildDied` if it has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise ChildDied(self, f"(pid {self.pid}) exited with status {self.proc.returncode}")

    def wait_until_answers(self, url: str) -> None:
        """Until a GET of `url` answers 200; `ChildDied` if it exits or is silent too long."""
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            self.check()
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(url, timeout=2) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(0.2)
        raise ChildDied(self, f"(pid {self.pid}) did not answer {url} within {STARTUP_S} s")

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        return "\n".join(f"    {line}" for line in lines) or "    (empty)"

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it outlives STOP_S."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _with_examples(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with the repository's root first on PYTHONPATH, so that the
    gateway (a console script, whose path does not hold the current folder) imports the
    python services of `examples.services`."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}
