"""The admin API against its own /openapi.json, by schemathesis (SPEC §5, §10.8): no 500,
no answer that breaks the document, 405s that say which methods there are, and no
traceback in the gateway's log, whatever it is sent."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port

CONFIG = """
[gateway]
port = {port}
[admin]
port = {admin}
[purge]
interval_s = 0
"""


@pytest.mark.slow
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    port, admin = free_port(), free_port()
    (tmp_path / "config.toml").write_text(CONFIG.format(port=port, admin=admin))
    exe = Path(sys.executable).with_name("integration-gateway")
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the gateway
        gateway = subprocess.Popen(
            [str(exe), "serve", "--config", str(tmp_path / "config.toml")],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{admin}/openapi.json").status_code == 200:
                    break
            time.sleep(0.1)
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"http://127.0.0.1:{admin}/openapi.json",
                "--checks",
                "all",
                # Schema-valid is not valid here: a header's grammar, a cron line, a kind's
                # target are checked beyond what JSON Schema says (422, never 5xx).
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                "20",
                "--seed",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout[-4000:]
    finally:
        gateway.terminate()
        gateway.wait(40)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
