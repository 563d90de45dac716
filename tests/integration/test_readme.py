"""Every command of README.md, run as a reader runs it (issue 14): the fenced `sh` and
`console` blocks, in the README's order, against the demo started as the README says,
with the virtual environment's `bin` first on PATH (as `. .venv/bin/activate` puts it).

A `console` block is `$ command` lines, each followed by the output the README shows;
that output must appear in what the command prints, line by line and in order, where
`...` stands for any text (and a line of its own for any lines) and a stage's
`dur=` for any time. An `sh` block's commands must succeed. A block whose paragraph
just before it starts with `_Not run by the tests` or `_Run by `.ci/run` itself` is
skipped, saying why: the README shows that tag to its readers too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>sh|console)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S
)
SKIPPED = ("_Not run by the tests", "_Run by `.ci/run` itself")
DEMO_PORTS = (8080, 8081, 8090, 9000)


@dataclass(frozen=True)
class Block:
    line: int  # where it starts in README.md
    lang: str
    body: str
    skip: str  # why it is not run ("" when it is)

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def blocks() -> list[Block]:
    text = README.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().rsplit("\n\n", 1)[-1].strip()
        skip = before if before.startswith(SKIPPED) else ""
        indent = len(match["indent"])
        body = "\n".join(line[indent:] for line in match["body"].splitlines())
        found.append(Block(text.count("\n", 0, match.start()) + 1, match["lang"], body, skip))
    return found


def commands(block: Block) -> list[tuple[str, list[str]]]:
    """(command, the output lines shown) in the block's order."""
    joined = block.body.replace("\\\n", " ")
    if block.lang == "sh":
        return [
            (line, [])
            for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    found: list[tuple[str, list[str]]] = []
    for line in joined.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif line.strip() and found:
            found[-1][1].append(line)
    return found


def shown(line: str) -> re.Pattern[str]:
    pattern = re.escape(line.strip())
    pattern = pattern.replace(re.escape("..."), ".*")
    pattern = re.sub(r"dur=[0-9]+\\\.[0-9]+", r"dur=[0-9.]+", pattern)
    return re.compile(pattern)


def matches(expected: list[str], printed: str) -> bool:
    """Each expected line found in `printed`, in order; `...` alone skips lines."""
    lines = [line.strip() for line in printed.splitlines()]
    at = 0
    for line in expected:
        if line.strip() == "...":
            continue
        pattern = shown(line)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return False
        at += 1
    return True


@pytest.fixture(scope="module")
def demo():
    """`python -m examples.demo --reset`, once it is up with its imports made."""
    for port in DEMO_PORTS:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            pytest.fail(f"port {port} is in use: the README's demo needs 8080, 8081, 8090, 9000")
    log = ROOT / "examples" / "demo" / "readme-test.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "examples.demo", "--reset"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while not _ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.unlink(missing_ok=True)


def _ready() -> bool:
    try:
        imports = httpx.get("http://127.0.0.1:8081/imports", timeout=1).json()["items"]
        upstream = httpx.get("http://127.0.0.1:9000/openapi.yaml", timeout=1)
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    return len(imports) >= 2 and upstream.status_code == 200


def run(command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


ALL = blocks()


def test_the_readme_has_commands_and_few_are_untested():
    assert len(ALL) >= 15
    untested = [b for b in ALL if b.skip]
    assert len(untested) <= 5, [str(b) for b in untested]


@pytest.mark.parametrize("block", ALL, ids=str)
def test_readme_block(block: Block, demo):
    if block.skip:
        pytest.skip(f"{block}: {block.skip.strip('_')}")
    for command, expected in commands(block):
        done = run(command)
        assert done.returncode == 0, f"{block}: {command}\n{done.stdout}{done.stderr}"
        assert matches(expected, done.stdout), (
            f"{block}: {command}\nshown:\n" + "\n".join(expected) + f"\nprinted:\n{done.stdout}"
        )
