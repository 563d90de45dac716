"""The `soap` kind against real peers: the example peer (its own process) and an echo."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from lxml import etree

from appserver.kinds import KINDS, soap, soap_envelope
from appserver.kinds.soap import SoapStage
from gateway import config as configuration
from gateway.runtime import deploy_env
from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError, StageError
from repository.entry import ServiceEntry
from repository.wsdl import import_wsdl
from repository.wsdlcache import wsdl_cache
from tests.entries import check_target
from tests.processes import free_port
from tests.soap import wsdls
from tests.soap.conftest import Files, echoed

FORMATTER_NS = "urn:integration-gateway:example:formatter"
CUSTOMER_NS = "urn:integration-gateway:example:customer"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
REQUEST = RequestContext(traceparent=TRACEPARENT, request_id="req-1")
# Far longer than a free loop takes to run a callback; reached only if the loop is blocked.
LOOP_TURN_WAIT_S = 10.0

Deploy = Callable[..., Awaitable[SoapStage]]


def xml(text: str) -> Message:
    return Message(text.encode(), "application/xml")


def json_message(text: str) -> Message:
    return Message(text.encode(), "application/json")


def result_text(message: Message) -> str:
    root = etree.fromstring(message.body)
    return "".join(root.itertext())


@pytest.fixture
async def deploy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Deploy]:
    """deploy(entry_or_import_kwargs, args={}, connection=None) -> a deployed stage."""
    monkeypatch.setenv("SHOP_PASSWORD", "s3cret")
    config = configuration.from_dict(
        {
            "gateway": {"stage_timeout_s": 5},
            "connections": {
                "shop": {
                    "headers": {"AuthHeader": '{"user": "gw", "token": "t-1"}', "X-Tenant": "acme"},
                    "basic": {"user": "gateway", "password_env": "SHOP_PASSWORD"},
                }
            },
        }
    )
    env = deploy_env(config)
    policy = env.fetch
    stages: list[SoapStage] = []

    async def make(
        source: dict[str, Any], args: dict[str, Any] | None = None, **target: Any
    ) -> SoapStage:
        result = await import_wsdl(
            check_target=check_target, **source, policy=policy, cache=wsdl_cache(env.shared)
        )
        entry = result.entries[0]
        if target:
            entry = dataclasses.replace(entry, target={**entry.target, **target})
        full = {name: None for name in entry.params} | (args or {})
        stage = await KINDS["soap"].deploy(entry, full, env)
        stages.append(stage)
        return stage

    yield make
    for stage in stages:
        await stage.close()


def watch_mappings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, bool]]:
    """Wrap a soap stage's two mappings (message to envelope, answer to message); each call
    records (which, ran off the loop's thread, the loop took a turn while it ran)."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    seen: list[tuple[str, bool, bool]] = []

    def watched(name: str, mapping: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            off_loop = threading.get_ident() != loop_thread
            turned = threading.Event()
            if off_loop:  # on the loop's thread, waiting for the loop would only deadlock
                loop.call_soon_threadsafe(turned.set)
                turned.wait(LOOP_TURN_WAIT_S)
            seen.append((name, off_loop, turned.is_set()))
            return mapping(*args)

        return run

    monkeypatch.setattr(soap_envelope, "envelope", watched("envelope", soap_envelope.envelope))
    monkeypatch.setattr(soap, "answer", watched("answer", soap.answer))
    return seen


def formatter(peer: str) -> dict[str, Any]:
    return {"url": f"{peer}/formatter?wsdl"}


def on_echo(files: Files, text: str) -> dict[str, Any]:
    return {"document": text, "base_url": files.url("files/echo.wsdl")}


# -- the example peer --------------------------------------------------------------------------


async def test_xmlcheck_with_wrapper_root_without_namespaces(
    soap_peer: str, deploy: Deploy
) -> None:
    stage = await deploy(formatter(soap_peer))
    out = await stage.invoke(xml("<XMLCheck><document>kit</document></XMLCheck>"), REQUEST)
    assert out.content_type == "application/xml"
    root = etree.fromstring(out.body)
    assert root.tag == f"{{{FORMATTER_NS}}}XMLCheckResponse"
    assert root.findtext(f"{{{FORMATTER_NS}}}XMLCheckResult") == "OK:KIT"


async def test_xmlcheck_with_namespaced_input(soap_peer: str, deploy: Deploy) -> None:
    stage = await deploy(formatter(soap_peer))
    payload = f'<f:XMLCheck xmlns:f="{FORMATTER_NS}"><f:document>ns</f:document></f:XMLCheck>'
    assert result_text(await stage.invoke(xml(payload), REQUEST)) == "OK:NS"


async def test_xmlcheck_with_json(soap_peer: str, deploy: Deploy) -> None:
    stage = await deploy(formatter(soap_peer))
    out = await stage.invoke(json_message('{"document": "json"}'), REQUEST)
    assert result_text(out) == "OK:JSON"
    # The input element's name around the parameters is taken off too.
    out = await stage.invoke(json_message('{"XMLCheck": {"document": "wrapped"}}'), REQUEST)
    assert result_text(out) == "OK:WRAPPED"


async def test_response_of_xmlcheck_feeds_order(soap_peer: str, deploy: Deploy) -> None:
    check = await deploy(formatter(soap_peer))
    order = await deploy({"url": f"{soap_peer}/customer?wsdl"})
    checked = await check.invoke(xml("<any><document>patent</document></any>"), REQUEST)
    out = await order.invoke(checked, REQUEST)
    root = etree.fromstring(out.body)
    assert root.tag == f"{{{CUSTOMER_NS}}}orderResponse"
    assert result_text(out) == "ORDER-ACCEPTED:OK:PATENT"


async def test_descriptor_argument_overrides_payload(soap_peer: str, deploy: Deploy) -> None:
    stage = await deploy(formatter(soap_peer), {"document": "from-header"})
    out = await stage.invoke(xml("<XMLCheck><document>from-body</document></XMLCheck>"), REQUEST)
    assert result_text(out) == "OK:FROM-HEADER"
    out = await stage.invoke(json_message("{}"), REQUEST)  # the argument alone suffices
    assert result_text(out) == "OK:FROM-HEADER"


async def test_soap_fault_is_stage_failure_with_code_and_string(
    soap_peer: str, deploy: Deploy
) -> None:
    stage = await deploy(formatter(soap_peer))
    with pytest.raises(StageError) as caught:
        await stage.invoke(xml("<XMLCheck><document>FAIL</document></XMLCheck>"), REQUEST)
    error = caught.value
    assert not error.rejected
    assert error.extra == {"fault_code": "Client", "fault_string": "document refused"}
    assert "document refused" in error.reason


async def test_soap_12_call_and_fault(soap_peer: str, deploy: Deploy) -> None:
    stage = await deploy({"url": f"{soap_peer}/formatter12?wsdl"})
    out = await stage.invoke(xml("<XMLCheck><document>twelve</document></XMLCheck>"), REQUEST)
    assert result_text(out) == "OK:TWELVE"
    with pytest.raises(StageError) as caught:
        await stage.invoke(json_message('{"document": "FAIL"}'), REQUEST)
    assert caught.value.extra == {"fault_code": "Sender", "fault_string": "document refused"}
    assert not caught.value.rejected


async def test_connection_refused_is_stage_failure(soap_peer: str, deploy: Deploy) -> None:
    text = httpx.get(f"{soap_peer}/formatter?wsdl").text
    closed = f"http://127.0.0.1:{free_port()}/formatter"
    moved = text.replace(f"{soap_peer}/formatter", closed)
    stage = await deploy({"document": moved, "base_url": f"{soap_peer}/moved?wsdl"})
    assert stage.address == closed
    with pytest.raises(StageError) as caught:
        await stage.invoke(xml("<XMLCheck><document>x</document></XMLCheck>"), REQUEST)
    assert not caught.value.rejected
    assert "cannot connect" in caught.value.reason


async def test_xxe_payload_is_rejected_before_any_call(files: Files, deploy: Deploy) -> None:
    stage = await deploy(on_echo(files, wsdls.stock(files.url("echo"))))
    before = files.asked("/echo")
    payload = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<TradePriceRequest><tickerSymbol>&e;</tickerSymbol></TradePriceRequest>"
    )
    with pytest.raises(StageError) as caught:
        await stage.invoke(xml(payload), REQUEST)
    assert caught.value.rejected
    assert "DOCTYPE" in caught.value.reason
    assert files.asked("/echo") == before


# -- what goes on the wire (an echo peer) -------------------------------------------------------


async def test_envelope_uses_wsdl_namespaces_and_schema_order(files: Files, deploy: Deploy) -> None:
    stage = await deploy(on_echo(files, wsdls.stock(files.url("echo"))))
    payload = (
        "<anything><account><user>u</user><id>7</id></account>"
        "<tickerSymbol>ABC</tickerSymbol><country><code>cz</code><name>Czechia</name></country>"
        "</anything>"
    )
    headers, envelope = echoed((await stage.invoke(xml(payload), REQUEST)).body)
    ns = "http://example.com/stockquote.xsd"
    body = envelope.find(f"{{{SOAP11}}}Body")
    request = body[0]
    assert request.tag == f"{{{ns}}}TradePriceRequest"
    # The schema is unqualified: local elements have no namespace, the `ref` one has.
    assert [c.tag for c in request] == ["tickerSymbol", "account", f"{{{ns}}}country"]
    assert [c.tag for c in request.find("account")] == ["id", "user"]
    assert headers["content-type"] == "text/xml; charset=utf-8"
    assert headers["soapaction"] == '"http://example.com/GetLastTradePrice"'
    assert headers["traceparent"] == TRACEPARENT
    assert headers["x-request-id"] == "req-1"


async def test_json_payload_is_written_by_the_schema(files: Files, deploy: Deploy) -> None:
    stage = await deploy(on_echo(files, wsdls.stock(files.url("echo"))))
    payload = '{"account": {"id": 7, "user": "u"}, "tickerSymbol": "ABC", "country": null}'
    _, envelope = echoed((await stage.invoke(json_message(payload), REQUEST)).body)
    request = envelope.find(f"{{{SOAP11}}}Body")[0]
    assert [c.tag for c in request] == ["tickerSymbol", "account"]
    assert request.findtext("account/id") == "7"


async def test_payload_that_does_not_fit_is_rejected(files: Files, deploy: Deploy) -> None:
    stage = await deploy(on_echo(files, wsdls.stock(files.url("echo"))))
    cases = {
        "<r><tickerSymbol>A</tickerSymbol><price>1</price></r>": "unexpected element <price>",
        "<r><tickerSymbol>A</tickerSymbol><account><id>x12</id><user>u</user></account></r>": (
            "'x12' is not a valid int"
        ),
        "<r><account><id>1</id><user>u</user></account></r>": "tickerSymbol",
        "<r>just text</r>": "expected elements",
        "<r><tickerSymbol>A</tickerSymbol>": "not well-formed",
    }
    before = files.asked("/echo")
    for payload, reason in cases.items():
        with pytest.raises(StageError) as caught:
            await stage.invoke(xml(payload), REQUEST)
        assert caught.value.rejected, payload
        assert reason in caught.value.reason, (payload, caught.value.reason)
    for message in (json_message("[1, 2]"), json_message("{"), Message(b"x", "text/plain")):
        with pytest.raises(StageError) as caught:
            await stage.invoke(message, REQUEST)
        assert caught.value.rejected
    assert files.asked("/echo") == before


async def test_soap_12_request_headers(files: Files, deploy: Deploy) -> None:
    stage = await deploy(on_echo(files, wsdls.soap12(files.url("echo"))), {"qty": 3})
    headers, envelope = echoed((await stage.invoke(json_message('{"order": "o-1"}'), REQUEST)).body)
    assert headers["content-type"] == 'application/soap+xml; charset=utf-8; action="urn:Submit"'
    assert "soapaction" not in headers
    assert envelope.tag == f"{{{SOAP12}}}Envelope"
    submit = envelope.find(f"{{{SOAP12}}}Body")[0]
    assert [(c.tag, c.text) for c in submit] == [
        (f"{{{wsdls.TNS}}}order", "o-1"),
        (f"{{{wsdls.TNS}}}qty", "3"),
    ]


async def test_soap_header_parts_come_from_the_connection(files: Files, deploy: Deploy) -> None:
    stage = await deploy(on_echo(files, wsdls.with_header(files.url("echo"))), connection="shop")
    payload = "<Submit><order>o-2</order><qty>1</qty></Submit>"
    headers, envelope = echoed((await stage.invoke(xml(payload), REQUEST)).body)
    auth = envelope.find(f"{{{SOAP11}}}Header/{{{wsdls.TNS}}}AuthHeader")
    assert auth is not None
    assert [(c.tag, c.text) for c in auth] == [
        (f"{{{wsdls.TNS}}}user", "gw"),
        (f"{{{wsdls.TNS}}}token", "t-1"),
    ]
    # The other connection headers and its credentials go as HTTP headers.
    assert headers["x-tenant"] == "acme"
    assert headers["authorization"].startswith("Basic ")
    assert "authheader" not in headers


async def test_unknown_connection_fails_the_deployment(files: Files, deploy: Deploy) -> None:
    with pytest.raises(StageError) as caught:
        await deploy(on_echo(files, wsdls.stock(files.url("echo"))), connection="nope")
    assert "connection 'nope' is not configured" in caught.value.reason


async def test_http_error_without_fault(files: Files, deploy: Deploy) -> None:
    rejecting = await deploy({"document": wsdls.stock(files.url("reject"))})
    with pytest.raises(StageError) as caught:
        await rejecting.invoke(json_message('{"tickerSymbol": "A"}'), REQUEST)
    assert caught.value.rejected and "400" in caught.value.reason
    failing = await deploy({"document": wsdls.stock(files.url("fail"))})
    with pytest.raises(StageError) as caught:
        await failing.invoke(json_message('{"tickerSymbol": "A"}'), REQUEST)
    assert not caught.value.rejected and "503" in caught.value.reason


async def test_large_payload_is_mapped_off_the_event_loop(
    files: Files, deploy: Deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = await deploy(on_echo(files, wsdls.stock(files.url("echo"))))
    mappings = watch_mappings(monkeypatch)
    big = "<r><tickerSymbol>" + "A" * 300_000 + "</tickerSymbol></r>"
    _, envelope = echoed((await stage.invoke(xml(big), REQUEST)).body)
    assert len(envelope.findtext(".//tickerSymbol") or "") == 300_000
    # The echo's answer is as big: both mappings ran in a worker thread, the loop running on.
    assert mappings == [("envelope", True, True), ("answer", True, True)]


async def test_small_payload_is_mapped_on_the_event_loop(
    files: Files, deploy: Deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = await deploy(on_echo(files, wsdls.stock(files.url("echo"))))
    mappings = watch_mappings(monkeypatch)
    await stage.invoke(xml("<r><tickerSymbol>A</tickerSymbol></r>"), REQUEST)
    # A thread hop would cost more than mapping a few bytes takes.
    assert mappings == [("envelope", False, False), ("answer", False, False)]


async def test_stage_size_and_close(soap_peer: str, deploy: Deploy) -> None:
    stage = await deploy(formatter(soap_peer))
    assert stage.size_bytes() > 0
    await stage.close()
    with pytest.raises(StageError):
        await stage.invoke(xml("<XMLCheck><document>x</document></XMLCheck>"), REQUEST)


async def test_target_schema_accepts_imported_and_refuses_odd_targets() -> None:
    good = {
        "name": "x.op",
        "kind": "soap",
        "target": {"wsdl": "https://h/x?wsdl", "service": "S", "port": "P", "operation": "op"},
    }
    assert ServiceEntry.from_json(good, check_target=check_target).kind == "soap"
    for wsdl in ("file:///etc/x.wsdl", "ftp://h/x", "h/x"):
        with pytest.raises(Exception, match="target"):
            ServiceEntry.from_json(
                {**good, "target": {**good["target"], "wsdl": wsdl}}, check_target=check_target
            )


async def test_check_args_refuses_a_value_of_the_wrong_xsd_type(files: Files) -> None:
    env = deploy_env(configuration.from_dict({}))
    result = await import_wsdl(
        check_target=check_target,
        document=wsdls.typed(files.url("echo")),
        policy=env.fetch,
        cache=wsdl_cache(env.shared),
    )
    entry = result.entries[0]
    kind = KINDS["soap"]
    kind.check_args(entry, {"when": "2024-05-01T10:00:00Z", "ship_to": "x", "count": 2}, env)
    with pytest.raises(ArgumentError) as caught:
        kind.check_args(entry, {"when": "yesterday"}, env)
    assert caught.value.parameter == "when"
    assert "'yesterday' is not a valid dateTime" in caught.value.reason
    # Without the parse at hand nothing is checked (the stage refuses the message later).
    kind.check_args(entry, {"when": "yesterday"}, deploy_env(configuration.from_dict({})))
