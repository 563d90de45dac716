"""SPEC §7: the command line, run as a user runs it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("integration-gateway"))
PATENT = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_check_prints_canonical_form_and_key():
    r = run("check", PATENT)
    assert r.returncode == 0, r.stderr
    canonical, key = r.stdout.splitlines()
    assert canonical.startswith("logger(file=log.txt, level=DEBUG) | validator | ")
    assert key == "a7cd4417c017c88b8dcc6ca000228db8"


def test_check_syntax_error_exits_2_with_the_position():
    r = run("check", "validator | (")
    assert r.returncode == 2
    assert "position 12" in r.stderr and "^" in r.stderr


def test_help_names_every_command():
    r = run("--help")
    assert r.returncode == 0
    for command in ("serve", "check", "resolve", "import", "services", "apps", "purge"):
        assert command in r.stdout


def test_bad_config_key_stops_the_start(tmp_path):
    (tmp_path / "config.toml").write_text("[gateway]\nprot = 8080\n")
    r = run("serve", "--config", str(tmp_path / "config.toml"))
    assert r.returncode == 2 and "gateway.prot" in r.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    work = tmp_path_factory.mktemp("cli")
    port, admin = free_port(), free_port()
    (work / "config.toml").write_text(f"""
[gateway]
port = {port}
[admin]
port = {admin}
[purge]
interval_s = 0
""")
    proc = subprocess.Popen(
        [EXE, "serve", "--config", str(work / "config.toml")],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base, adm = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(base + "/_gateway/health", timeout=1).read()
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("gateway did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.1)
    yield base, adm, work
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(20) == 0


def test_admin_commands_talk_to_the_running_gateway(served):
    base, adm, _work = served
    req = urllib.request.Request(
        base + "/",
        data=b"{}",
        method="POST",
        headers={"Integration-Config": "validator", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=10).read()
    services = run("services", "--admin", adm)
    assert services.returncode == 0 and "logger@1.0.0" in services.stdout
    apps = run("apps", "--admin", adm)
    assert apps.returncode == 0 and "validator" in apps.stdout
    plan = run("resolve", "validator | JSON -> XML", "--admin", adm)
    assert plan.returncode == 0
    assert [s["service"] for s in json.loads(plan.stdout)["stages"]] == [
        "validator@1.0.0",
        "json_to_xml@1.0.0",
    ]
    purged = run("purge", "--max-idle-s", "0", "--admin", adm)
    assert purged.returncode == 0 and len(json.loads(purged.stdout)["purged"]) == 1


def test_admin_command_reports_a_problem(served):
    _, adm, _ = served
    r = run("resolve", "nope", "--admin", adm)
    assert r.returncode == 1 and "service-not-found" in r.stderr


def test_admin_command_unreachable_exits_3():
    r = run("apps", "--admin", f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 3 and "cannot reach" in r.stderr


def test_import_wsdl_from_a_file(served):
    _, adm, _work = served
    corpus = Path(__file__).parents[2].parent / "shared" / "corpus" / "soap.wsdl"
    r = run("import", "wsdl", str(corpus), "--prefix", "cli.stock", "--admin", adm)
    assert r.returncode == 0, r.stderr
    assert "cli.stock.GetLastTradePrice" in r.stdout
