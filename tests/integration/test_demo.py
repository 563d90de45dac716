"""`python -m examples.demo` as a reader runs it, with real processes on free ports and a
state folder of the test's own: it starts and answers the README's chain, refuses a
taken port before starting anything, names a child that died, and `--reset` starts from
an empty state."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
UP = "Ctrl-C stops the demo."
CHILDREN = ("the SOAP peer", "the example upstream", "the gateway")
CHAIN = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    state: Path
    out: Path
    err: Path
    public: int
    admin: int

    def pid_of(self, child: str) -> int:
        """A child's pid, as the banner gives it (`  the SOAP peer: pid 123, log ...`)."""
        found = re.search(rf"^  {child}: pid (\d+),", self.out.read_text(), re.M)
        assert found, self.out.read_text()
        return int(found[1])

    def wait(self, seconds: float = 30) -> int:
        return self.proc.wait(seconds)


def launch(tmp_path: Path, *args: str, public: int | None = None) -> Demo:
    """The demo on free ports (`public` if given), its state in tmp_path/state."""
    public = public or free_port()
    admin = free_port()
    ports = ["--public-port", str(public), "--admin-port", str(admin)]
    ports += ["--peer-port", str(free_port()), "--upstream-port", str(free_port())]
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "examples.demo",
                "--state",
                str(tmp_path / "state"),
                *ports,
                *args,
            ],
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    return Demo(proc, tmp_path / "state", out, err, public, admin)


def until_up(demo: Demo, seconds: float = 60) -> Demo:
    deadline = time.monotonic() + seconds
    while UP not in demo.out.read_text():
        if demo.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the demo did not come up:\n{demo.err.read_text()[-3000:]}")
        time.sleep(0.2)
    return demo


def end(demo: Demo) -> None:
    """Whatever a test left running: the demo, and its children should it not stop them."""
    if demo.proc.poll() is None:
        demo.proc.send_signal(signal.SIGTERM)
        try:
            demo.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.proc.pid, signal.SIGKILL)
    if UP in demo.out.read_text():
        for child in CHILDREN:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(demo.pid_of(child), signal.SIGKILL)


def gone(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def spoiled(tmp_path: Path) -> Path:
    """tmp_path with a state the gateway cannot start from: a repository that is not a
    database, and a file left behind."""
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "repository.sqlite").write_bytes(b"not a database")
    (tmp_path / "state" / "left-behind.txt").write_text("from an earlier run")
    return tmp_path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo started with --reset over a spoiled state."""
    running = until_up(launch(spoiled(tmp_path_factory.mktemp("demo")), "--reset"))
    yield running
    end(running)


def test_the_demo_answers_the_readmes_chain(demo: Demo) -> None:
    r = httpx.post(
        f"http://127.0.0.1:{demo.public}/",
        json={"XMLCheck": {"document": "hello"}},
        headers={"Integration-Config": CHAIN},
    )
    assert r.status_code == 200, r.text
    assert r.text == (
        '<tns:orderResponse xmlns:tns="urn:integration-gateway:example:customer">'
        "<tns:orderResult>ORDER-ACCEPTED:OK:HELLO</tns:orderResult></tns:orderResponse>"
    )


def test_the_demo_serves_the_example_services(demo: Demo) -> None:
    r = httpx.post(
        f"http://127.0.0.1:{demo.public}/",
        json={"name": "Ada"},
        headers={"Integration-Config": "greeting(greeting=Hi)"},
    )
    assert r.status_code == 200 and r.text.startswith("Hi, Ada! (request "), r.text


def test_reset_starts_from_an_empty_state(demo: Demo) -> None:
    assert not (demo.state / "left-behind.txt").exists()
    imports = httpx.get(f"http://127.0.0.1:{demo.admin}/imports").json()["items"]
    assert len(imports) == 2
    assert (demo.state / "config.toml").is_file() and (demo.state / "gateway.log").is_file()


def test_without_reset_the_state_stays_and_the_gateway_failing_on_it_is_named(tmp_path):
    demo = launch(spoiled(tmp_path))
    try:
        assert demo.wait() == 1
        said = demo.err.read_text()
        assert "the gateway (pid" in said and "exited with status 1" in said, said
        assert "repository.sqlite: file is not a database" in said
        assert (demo.state / "left-behind.txt").exists()
    finally:
        end(demo)


def test_sigterm_stops_the_demo_and_its_children(demo: Demo) -> None:
    children = [demo.pid_of(child) for child in CHILDREN]
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.wait() == 0, demo.err.read_text()
    assert all(gone(pid) for pid in children)


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        demo = launch(tmp_path, public=port)
        assert demo.wait() == 2
    said = demo.err.read_text()
    assert f"port {port}" in said and "--public-port" in said and "taken" in said, said
    assert "is up" not in demo.out.read_text()
    assert not demo.state.exists()  # nothing started, nothing written


def test_a_child_that_dies_is_named_and_the_demo_fails(tmp_path: Path) -> None:
    demo = until_up(launch(tmp_path))
    try:
        peer = demo.pid_of("the SOAP peer")
        os.kill(peer, signal.SIGKILL)
        assert demo.wait() == 1
        said = demo.err.read_text()
        assert f"the SOAP peer (pid {peer}) exited with status -9" in said, said
        assert "soap_peer.log" in said and "listening on http://127.0.0.1:" in said
        others = [demo.pid_of(c) for c in ("the example upstream", "the gateway")]
        assert all(gone(pid) for pid in others)
    finally:
        end(demo)
