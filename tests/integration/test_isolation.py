"""SPEC §10.4: work a client's arguments make expensive meets the stage's deadline and
`stage_memory_bytes`, stops using CPU once answered, and never holds up anyone else."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Running, problem

TIMEOUT_S = 1.0
LIMITS = {"stage_timeout_s": TIMEOUT_S, "stage_memory_bytes": 96 * 1024 * 1024}
XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'


def cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and all its descendants (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = [
            int(c)
            for task in os.listdir(f"/proc/{pid}/task")
            for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        ]
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return total + sum(cpu_seconds(c) for c in children)


async def idle_cpu(seconds: float = 1.0) -> float:
    """CPU this process tree uses over `seconds` while the test itself sleeps."""
    before = cpu_seconds(os.getpid())
    await asyncio.sleep(seconds)
    return cpu_seconds(os.getpid()) - before


def xslt(body: str) -> str:
    sheet = f'<xsl:stylesheet version="1.0" {XSL}>{body}</xsl:stylesheet>'
    quoted = sheet.replace("\\", "\\\\").replace('"', '\\"')
    return f'xslt(stylesheet="{quoted}")'


RECURSIVE = xslt(
    '<xsl:template match="/"><xsl:call-template name="r"/></xsl:template>'
    '<xsl:template name="r"><xsl:call-template name="r"/></xsl:template>'
)
DOUBLING = xslt(
    "<xsl:template match='/'><xsl:call-template name='d'>"
    "<xsl:with-param name='s' select=\"'xxxxxxxxxxxxxxxx'\"/>"
    "<xsl:with-param name='n' select='40'/></xsl:call-template></xsl:template>"
    "<xsl:template name='d'><xsl:param name='s'/><xsl:param name='n'/><xsl:choose>"
    "<xsl:when test='$n &gt; 0'><xsl:call-template name='d'>"
    "<xsl:with-param name='s' select='concat($s, $s)'/>"
    "<xsl:with-param name='n' select='$n - 1'/></xsl:call-template></xsl:when>"
    "<xsl:otherwise><xsl:value-of select='string-length($s)'/></xsl:otherwise>"
    "</xsl:choose></xsl:template>"
)
UNIQUE = json.dumps(json.dumps({"type": "array", "uniqueItems": True}))
UNIQUE_BODY = json.dumps([{"n": [i]} for i in range(8000)]).encode()


async def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = await call
    return answer, time.monotonic() - started


async def health_in(gw: Running) -> float:
    _, took = await timed(gw.call(None, path="/_gateway/health", method="GET"))
    return took


async def test_a_schema_that_costs_seconds_meets_the_deadline_and_stops(
    start_gateway: Any,
) -> None:
    gw = await start_gateway(gateway=LIMITS)
    slow = asyncio.create_task(timed(gw.call(f"validator(schema={UNIQUE})", UNIQUE_BODY)))
    await asyncio.sleep(0.3)
    assert await health_in(gw) < 1.0, "health waited behind a client's stage"
    answer, took = await slow
    await problem(answer, 504, "stage-timeout")
    assert took < TIMEOUT_S + 1.0, took
    assert await idle_cpu() < 0.5, "the stage still burns CPU after its answer"


async def test_a_pattern_runs_in_linear_time_and_one_that_cannot_is_refused(
    start_gateway: Any,
) -> None:
    gw = await start_gateway(gateway=LIMITS)
    schema = json.dumps(json.dumps({"type": "string", "pattern": "^(a|a)*$"}))
    answer, took = await timed(gw.call(f"validator(schema={schema})", json.dumps("a" * 40 + "!")))
    await problem(answer, 422, "stage-rejected")
    assert took < 1.0, took
    lookahead = json.dumps(json.dumps({"type": "string", "pattern": "^(?=a)a$"}))
    body = await problem(await gw.call(f"validator(schema={lookahead})", b'"a"'), 422,
                         "invalid-parameter")  # fmt: skip
    assert body["parameter"] == "schema" and "linear time" in body["reason"]


async def test_a_stylesheet_that_would_take_gigabytes_is_stopped_at_the_memory_limit(
    start_gateway: Any,
) -> None:
    gw = await start_gateway(gateway=LIMITS)
    answer, took = await timed(gw.call(DOUBLING, b"<a/>", "application/xml"))
    body = await problem(answer, 422, "stage-rejected")
    assert "stage_memory_bytes" in body["reason"] and str(96 * 1024 * 1024) in body["reason"]
    assert took < TIMEOUT_S + 1.0, took
    # The worker that ran it was replaced: the next stylesheet runs.
    ok = await gw.call(xslt('<xsl:template match="/"><b/></xsl:template>'), b"<a/>", "text/xml")
    assert ok.status == 200, ok.body


async def test_endless_stylesheets_never_hold_up_the_gateways_own_work(
    start_gateway: Any,
) -> None:
    gw = await start_gateway(gateway=LIMITS)
    endless = [
        asyncio.create_task(timed(gw.call(RECURSIVE, f"<a n='{i}'/>".encode(), "text/xml")))
        for i in range(6)
    ]
    await asyncio.sleep(0.3)
    assert await health_in(gw) < 1.0
    _, took = await timed(gw.adm("PUT", "/purge/policy", {"max_apps": 500}))
    assert took < 1.0, "an admin write waited behind clients' stages"
    _, took = await timed(gw.adm("POST", "/purge"))
    assert took < 1.0
    for task in endless:
        answer, took = await task
        assert answer.status in (422, 504), answer.body
        # Six stages, fewer workers: waiting for one counts toward the deadline.
        assert took < TIMEOUT_S + 1.5, took
    assert await idle_cpu() < 0.5
    # The workers were replaced; stopping the gateway stops them all.
    await gw.gateway.stop()
    assert await idle_cpu(0.5) < 0.3


@pytest.fixture
def sleepy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "sleepy.py").write_text(
        "import time\n\ndef nap(message):\n    time.sleep(3)\n    return message\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "sleepy"


async def test_blocking_python_services_fill_only_their_own_threads(
    start_gateway: Any, sleepy: str
) -> None:
    gw = await start_gateway(
        gateway={"stage_timeout_s": 5}, repository={"python_modules": [sleepy]}
    )
    entry = {"name": "nap", "kind": "python", "target": {"callable": "sleepy:nap"}}
    assert (await gw.adm("POST", "/services", entry)).status == 201
    naps = [asyncio.create_task(gw.call("nap", {"i": i})) for i in range(24)]
    await asyncio.sleep(0.5)
    assert await health_in(gw) < 1.0
    _, took = await timed(gw.adm("PUT", "/purge/policy", {"max_apps": 400}))
    assert took < 1.0, "the admin API's thread work waited behind python services"
    fast = await gw.call("validator | JSON -> XML", {"a": "1"})
    assert fast.status == 200
    for nap in naps:
        nap.cancel()
    await asyncio.gather(*naps, return_exceptions=True)


async def test_deep_yaml_is_a_rejection_not_a_failure(start_gateway: Any) -> None:
    gw = await start_gateway(gateway=LIMITS)
    deep = b"a: " + b"[" * 5000 + b"]" * 5000
    body = await problem(await gw.call("validator", deep, "application/yaml"), 422,
                         "stage-rejected")  # fmt: skip
    assert "nested too deeply" in body["reason"]


async def test_the_raw_header_cache_is_bounded_in_bytes(start_gateway: Any) -> None:
    limit = 64 * 1024
    gw = await start_gateway(gateway={"header_cache_bytes": limit})
    long = "x" * 4000
    for i in range(100):  # 100 distinct headers of ~4 KB: 800 KB of text in all
        r = await gw.call(f'logger(level=INFO) | validator(schema="{i}{long}")', b"{}")
        assert r.status == 422  # not a JSON Schema; parsed, and so cached, all the same
    cache = gw.gateway._parsed
    assert 0 < cache.currsize <= limit and len(cache) < 100


async def test_deploying_a_stage_is_held_to_the_stage_deadline(
    start_gateway: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a stage compiles at deploy (a client's stylesheet, say) meets the deadline too.
    (tmp_path / "slow_prepare.py").write_text(
        "import asyncio\n\nclass Slow:\n    async def prepare(self):\n"
        "        await asyncio.sleep(30)\n\n    def __call__(self, message):\n"
        "        return message\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    gw = await start_gateway(gateway=LIMITS, repository={"python_modules": ["slow_prepare"]})
    entry = {"name": "slow", "kind": "python", "target": {"callable": "slow_prepare:Slow"}}
    assert (await gw.adm("POST", "/services", entry)).status == 201
    answer, took = await timed(gw.call("slow", {}))
    body = await problem(answer, 504, "stage-timeout")
    assert body["stage"] == 0 and took < TIMEOUT_S + 1.0
