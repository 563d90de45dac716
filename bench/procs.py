"""Servers in processes of their own, pinned to a core, and wrk driving them.

The machine has two cores: every server runs on CPU 0 (`SERVER_CPU`) and wrk on CPU 1
(`CLIENT_CPU`), except where a row says otherwise (a route's upstream shares wrk's core,
so that the gateway has CPU 0 to itself as in the pass-through comparison). A server's
CPU time a request is read from /proc: steadier than requests a second on a shared,
noisy machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVER_CPU = "0"
CLIENT_CPU = "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: str, argv: Sequence[str]) -> list[str]:
    """`argv` run on `cpu` when taskset is here and the machine has that core."""
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > int(cpu):  # type: ignore[operator]
        return ["taskset", "-c", cpu, *argv]
    return list(argv)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process and its waited-for children."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up within {seconds:g} s")


@contextlib.contextmanager
def servers(*specs: tuple[str, list[str], str, str, Path | None]) -> Iterator[dict[str, Server]]:
    """Start each (name, argv, cpu, health URL, cwd); stop them all (SIGTERM) at the end."""
    started: dict[str, Server] = {}
    try:
        for name, argv, cpu, health, cwd in specs:
            proc = subprocess.Popen(
                pinned(cpu, argv) if cpu else argv,  # "": wherever the kernel puts it
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            origin = urllib.parse.urlsplit(health)
            started[name] = Server(name, proc, f"{origin.scheme}://{origin.netloc}/")
            wait_until_up(health, proc)
        yield started
    finally:
        for server in started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.proc.pid, signal.SIGTERM)
        for server in started.values():
            try:
                server.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(server.proc.pid, signal.SIGKILL)
                server.proc.wait()


def python() -> str:
    return sys.executable


def gateway_argv(config: Path) -> list[str]:
    return [python(), "-m", "gateway", "serve", "--config", str(config)]


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="igw-bench-"))


# -- wrk --------------------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
{headers}
"""


def wrk_script(folder: Path, name: str, body: str, headers: dict[str, str]) -> Path:
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = folder / f"{name}.lua"
    script.write_text(WRK_SCRIPT.format(body=body, headers=lines))
    return script


@dataclass(frozen=True)
class Run:
    """One wrk run: requests a second, the server's CPU µs a request, latency percentiles."""

    rate: float
    cpu_us: float
    p50_ms: float
    p99_ms: float


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    measured: list[Server],
    pin: bool = True,
    threads: int = 1,
) -> Run:
    """Drive `url` for `seconds`; CPU a request is that of the `measured` servers together.
    `pin`: wrk on CPU 1 (else wherever the kernel puts it)."""
    before = sum(s.cpu_seconds() for s in measured)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        pinned(CLIENT_CPU, argv) if pin else argv,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = sum(s.cpu_seconds() for s in measured) - before
    problems = [
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    ]
    if problems:
        raise SystemExit(f"wrk {url}: {'; '.join(problems)}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    percent = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    return Run(rate, cpu / max(requests, 1) * 1e6, _ms(percent["50"]), _ms(percent["99"]))
