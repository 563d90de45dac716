"""SPEC §10.6: logger stages naming one file share one descriptor, across applications, and
the log folder holds at most max_files files however many names clients send."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from repository.builtins.logger import LOG_FILES
from tests.conftest import problem


def descriptors_into(folder: Path) -> int:
    """How many of this process's descriptors are open on files in `folder`."""
    inside = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        inside += target.startswith(str(folder.resolve()))
    return inside


async def test_one_file_one_descriptor_across_applications(
    start_gateway: Any, tmp_path: Path
) -> None:
    gw = await start_gateway()
    path = tmp_path / "var/log/shared.txt"
    for header in (
        "logger(file=shared.txt)",
        "logger(level=DEBUG, file=shared.txt)",
        "logger(file=shared.txt) | validator",
    ):
        r = await gw.call(header, {})
        assert r.status == 200, r.body
    assert LOG_FILES.users(path.resolve()) == 3
    assert len(path.read_text().splitlines()) == 3
    await gw.adm("POST", "/purge", {"max_idle_s": 0})
    await gw.gateway.applications.wait_closed()
    assert LOG_FILES.users(path.resolve()) == 0  # closed with the last stage naming it


async def test_new_names_past_max_files_are_refused(start_gateway: Any, tmp_path: Path) -> None:
    folder = tmp_path / "var/log"
    folder.mkdir(parents=True)
    (folder / "someone-elses.log").write_text("")  # whoever made them, files count
    gw = await start_gateway(services={"logger": {"dir": "var/log", "max_files": 4}})
    for i in range(3):
        assert (await gw.call(f"logger(file=f{i}.txt)", {})).status == 200
    for i in range(3, 200):
        body = await problem(await gw.call(f"logger(file=f{i}.txt)", {}), 422, "invalid-parameter")
        assert body["parameter"] == "file" and "max_files" in body["reason"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "f0.txt",
        "f1.txt",
        "f2.txt",
        "someone-elses.log",
    ]
    assert descriptors_into(folder) == 3
    # A name that exists already is no new file: still allowed.
    assert (await gw.call("logger(level=DEBUG, file=f1.txt)", {})).status == 200
    # Folders count too: a name inside a new folder would make two.
    body = await problem(await gw.call("logger(file=sub/x.txt)", {}), 422, "invalid-parameter")
    assert not (folder / "sub").exists()
