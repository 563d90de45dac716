"""Operators see what happens: request ids in logs, JSON logs, Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gateway import logs


@pytest.fixture
def json_logs():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logs.setup("json", stream=stream)
    yield stream
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


async def test_json_logs_carry_the_request_id(gw, json_logs):
    r = await gw.call("nope.missing", {}, headers={"X-Request-Id": "req-42"})
    assert r.status == 404 and r.headers["X-Request-Id"] == "req-42"
    err = json_logs.getvalue().splitlines()
    lines = [json.loads(line) for line in err if line.startswith("{")]
    mine = [line for line in lines if line["request_id"] == "req-42"]
    assert mine and mine[0]["level"] in ("INFO", "WARNING")
    assert {"time", "level", "logger", "request_id", "message"} <= set(mine[0])
    assert "service-not-found" in " ".join(m["message"] for m in mine)


async def test_a_request_id_is_made_when_none_is_given(gw):
    r = await gw.call("validator", {})
    assert len(r.headers["X-Request-Id"]) == 32


async def test_metrics_count_outcomes_cache_results_and_stages(gw):
    await gw.call("validator", {})
    await gw.call("validator", {})
    await gw.call("nope.missing", {})
    await gw.call(None, method="GET", path="/legacy/hello")
    text = await (await gw.adm("GET", "/metrics")).text()
    assert 'igw_requests_total{cache="miss",outcome="ok"} 1.0' in text
    assert 'igw_requests_total{cache="hit",outcome="ok"} 1.0' in text
    assert 'igw_requests_total{cache="none",outcome="service-not-found"} 1.0' in text
    assert 'igw_stage_seconds_count{service="validator"} 2.0' in text
    assert "igw_assembly_seconds_count 1.0" in text
    assert 'igw_applications{app_server="as0"} 1.0' in text
    assert 'igw_basic_requests_total{route="/legacy",status="200"} 1.0' in text
