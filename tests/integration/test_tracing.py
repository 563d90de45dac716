"""W3C trace context from clients to `http` stages, and OpenTelemetry spans (in memory)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.tracing import Tracing
from tests.conftest import http_entry

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def _echo_headers_stage(gw, upstream):
    e = http_entry("hdrs", upstream + "/headers")
    assert (await gw.adm("POST", "/services", e)).status == 201


async def test_without_an_exporter_the_clients_traceparent_goes_on(gw, upstream):
    await _echo_headers_stage(gw, upstream)
    r = await gw.call(
        "validator | hdrs", {}, headers={"traceparent": CLIENT, "tracestate": "vendor=1"}
    )
    assert r.status == 200, await r.text()
    sent = json.loads(await r.read())
    assert sent["traceparent"] == CLIENT and sent["tracestate"] == "vendor=1"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


async def test_a_span_a_request_and_a_stage(gw, upstream, spans):
    provider, exporter = spans
    gw.gateway.tracing = Tracing(provider.get_tracer("integration-gateway"), provider)
    await _echo_headers_stage(gw, upstream)
    r = await gw.call("validator | hdrs", {}, headers={"traceparent": CLIENT})
    assert r.status == 200, await r.text()
    finished = {s.name: s for s in exporter.get_finished_spans()}
    request = finished["POST integration"]
    assert request.kind is SpanKind.SERVER
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert request.parent.span_id == int("00f067aa0ba902b7", 16)
    assert request.attributes["igw.cache"] == "miss"
    assert request.attributes["igw.key"] == r.headers["Integration-App"]
    stage0, stage1 = finished["stage 0 validator"], finished["stage 1 hdrs"]
    assert stage0.parent.span_id == request.context.span_id == stage1.parent.span_id
    # The http stage's call carries its own span as the parent.
    sent = json.loads(await r.read())["traceparent"]
    assert sent == f"00-{TRACE_ID}-{stage1.context.span_id:016x}-01"


async def test_a_failed_request_is_traced_with_its_outcome(gw, spans):
    provider, exporter = spans
    gw.gateway.tracing = Tracing(provider.get_tracer("integration-gateway"), provider)
    await gw.call("nope.missing", {})
    (span,) = exporter.get_finished_spans()
    assert span.attributes["igw.outcome"] == "service-not-found"
