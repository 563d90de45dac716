"""SPEC §8, run as an operator runs it: a bad value stops `serve` with a message naming it
(exit 2, no traceback), whether the scheduler reads it or a flag replaces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("integration-gateway"))


def serve(tmp_path: Path, toml: str, *flags: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.toml").write_text(toml)
    return subprocess.run(
        [EXE, "serve", "--config", str(tmp_path / "config.toml"), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    "toml,flags,named",
    [
        ('[purge]\ncron = "every minute"\n', (), "purge.cron"),
        ('[gateway]\nport = "x"\n', ("--port", "0", "--admin-port", "0"), "gateway.port"),
        ("[admin]\nport = 70000\n", ("--port", "0", "--admin-port", "0"), "admin.port"),
    ],
)
def test_bad_value_stops_the_start_naming_it(tmp_path, toml, flags, named):
    r = serve(tmp_path, toml, *flags)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert named in r.stderr and "Traceback" not in r.stderr
