"""By-contract resolution, WSDL imports and SOAP errors through the whole gateway (SPEC §2
by contract, §3 soap, §5 /imports, the error table), with WSDLs served over HTTP on
loopback, the echo endpoint and the strict responder (tests/soap/handmade.py)."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import http_entry, problem
from tests.processes import free_port
from tests.soap import handmade, wsdls
from tests.soap.conftest import ALLOW, echoed


@pytest.fixture
def gw(allowed_gw):
    return allowed_gw


async def _import(gw, **body):
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", **body})
    assert r.status == 201, await r.text()
    return [e["name"] for e in (await r.json())["items"]]


def sent(r) -> tuple[dict[str, str], etree._Element]:
    """What the echo endpoint received for a 200 answer: (HTTP headers, envelope)."""
    assert r.status == 200, r.body[:800]
    return echoed(r.body)


def body_of(envelope: etree._Element) -> etree._Element:
    return next(c for c in envelope if etree.QName(c).localname == "Body")[0]


async def test_names_are_idents_and_collisions_are_numbered(gw, files):
    url = files.add("names/odd.wsdl", wsdls.odd_names(files.url("echo")))
    assert await _import(gw, url=url) == ["Slu_ba.get_", "Slu_ba.get__2", "Slu_ba.v._2"]
    r = await gw.call("Slu_ba.v._2", {})
    assert etree.QName(body_of(sent(r)[1])).localname == "v.2"
    # Another WSDL whose names are taken at the same version gets the next numbers;
    # another version of a name is a version, not a collision.
    other = files.add("names/odd-again.wsdl", wsdls.odd_names(files.url("echo")))
    names = await _import(gw, url=other)
    assert names == ["Slu_ba.get__3", "Slu_ba.get__4", "Slu_ba.v._2_2"]
    third = files.add("names/odd-v2.wsdl", wsdls.odd_names(files.url("echo")))
    assert await _import(gw, url=third, version="2.0.0") == [
        "Slu_ba.get_",
        "Slu_ba.get__2",
        "Slu_ba.v._2",
    ]
    # So does a name a service registered by hand already has.
    r = await gw.adm("POST", "/services", http_entry("shop.Submit", files.url("echo")))
    assert r.status == 201, await r.text()
    header = files.add("names/header.wsdl", wsdls.with_header(files.url("echo")))
    assert await _import(gw, url=header, prefix="shop") == ["shop.Submit_2"]
    # Importing a URL again keeps its names.
    assert await _import(gw, url=other) == names


async def test_simple_children_are_nullable_params(gw, files):
    url = files.add("names/typed.wsdl", wsdls.typed(files.url("echo")))
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", "url": url, "prefix": "t"})
    (entry,) = (await r.json())["items"]
    params = entry["params"]
    assert set(params) == {"count", "big", "price", "ratio", "rush", "when", "level", "tag"} | {
        "ship_to"
    }
    assert all(p["default"] is None and "null" in p["type"] for p in params.values())
    assert params["ship_to"]["wire_name"] == "ship.to"
    assert params["tag"]["type"] == ["array", "null"]
    # Arguments override the payload; the payload gives the rest, complex ones too.
    r = await gw.call(
        't.Order(count=2, rush=true, level=3, when="2024-01-01T00:00:00Z", ship_to=here)',
        {
            "count": 9,
            "big": 1,
            "price": "1.5",
            "ratio": 2,
            "tag": ["a", "b"],
            "address": {"street": "Main"},
        },
    )
    order = body_of(sent(r)[1])
    values = {etree.QName(c).localname: c for c in order}
    assert values["count"].text == "2" and values["rush"].text == "true"
    assert values["ship.to"].text == "here" and values["address"][0].text == "Main"
    assert [etree.QName(c).localname for c in order][:3] == ["count", "big", "price"]


async def test_operation_of_two_services_and_qualified_ports(gw, files):
    url = files.add("ports/multi.wsdl", wsdls.multi_port(files.url("echo")))
    j = await problem(await gw.call(f"wsdl:{url}#Echo", {"text": "x"}), 409, "ambiguous-service")
    assert sorted(c["name"] for c in j["candidates"]) == ["Mirror.Echo", "Shop.Echo"]
    headers, _ = sent(await gw.call(f"wsdl:{url}#Shop.Shop11Port.Echo", {"text": "x"}))
    assert headers["content-type"].startswith("text/xml")
    headers, envelope = sent(await gw.call(f"wsdl:{url}#Shop.Shop12Port.Echo", {"text": "x"}))
    assert headers["content-type"].startswith("application/soap+xml")
    assert etree.QName(envelope).namespace == handmade.SOAP12
    headers, _ = sent(await gw.call(f"wsdl:{url}#Mirror.MirrorPort.Echo", {"text": "y"}))
    assert headers["soapaction"] == '"urn:Echo"'
    sent(await gw.call(f"wsdl:{url}#Ping", {}))  # only on the SOAP 1.2 port
    for op in ("Shop.ShopHttpPort.Echo", "Shop.Shop11Port.Ping", "Nope.Shop11Port.Echo"):
        j = await problem(await gw.call(f"wsdl:{url}#{op}", {}), 404, "service-not-found")
        assert j["stage"] == 0


async def test_first_request_may_qualify_the_operation(gw, files):
    url = files.add("ports/first.wsdl", wsdls.multi_port(files.url("echo")))
    headers, _ = sent(await gw.call(f"wsdl:{url}#Shop.Shop12Port.Echo", {"text": "x"}))
    assert headers["content-type"].startswith("application/soap+xml")


async def test_document_import_is_known_by_its_base_url(gw, files):
    base = files.url("files/never-served.wsdl")
    await _import(gw, document=wsdls.with_header(files.url("echo")), base_url=base)
    sent(await gw.call(f"wsdl:{base}#Submit", {"order": "o", "qty": 1}))
    assert files.asked("never-served.wsdl") == 0
    # XML with the operation's element in its namespace, or with none.
    xml = b'<s:Submit xmlns:s="urn:test:shop"><s:qty>3</s:qty><s:order>a</s:order></s:Submit>'
    _, envelope = sent(await gw.call(f"wsdl:{base}#Submit", xml, "application/xml"))
    submit = body_of(envelope)
    assert [c.tag for c in submit] == ["{urn:test:shop}order", "{urn:test:shop}qty"]
    xml = b"<Submit><order>b</order><qty>1</qty></Submit>"
    _, envelope = sent(await gw.call("Shop.Submit", xml, "text/xml"))
    assert body_of(envelope)[0].text == "b"


async def test_wsdl_without_soap_port(gw, files):
    url = files.add("bad/http-only.wsdl", wsdls.http_only(files.url("echo")))
    j = await problem(
        await gw.adm("POST", "/imports", {"kind": "wsdl", "url": url}), 422, "invalid-entry"
    )
    assert j["errors"]
    j = await problem(await gw.call(f"wsdl:{url}#Echo", {}), 404, "service-not-found")
    assert "SOAP" in j["reason"] and j["descriptor"].startswith("wsdl:")


async def test_where_a_wsdl_may_not_come_from(gw, files):
    corpus = "corpus/soap.wsdl"
    elsewhere = files.url(corpus, host="localhost")
    cases = [
        f"wsdl:{elsewhere}#GetLastTradePrice",
        "wsdl:file://localhost/etc/passwd#GetLastTradePrice",
        f"wsdl:{files.url('redirect')}?to={elsewhere}#GetLastTradePrice",
        f"wsdl:{files.url('redirect')}?to=file:///etc/passwd#GetLastTradePrice",
        f"wsdl:{files.url('files/missing.wsdl')}#GetLastTradePrice",
    ]
    for header in cases:
        j = await problem(await gw.call(header, {}), 404, "service-not-found")
        assert j["reason"] and j["stage"] == 0, j
    assert files.asked("/" + corpus) == 0  # never fetched from localhost either
    # A failed assembly is not remembered: once the WSDL is there, it resolves.
    files.add("missing.wsdl", wsdls.with_header(files.url("echo")))
    r = await gw.call(f"wsdl:{files.url('files/missing.wsdl')}#Submit", {"order": "z", "qty": 1})
    sent(r)


async def test_fetch_limits(start_gateway, files):
    gw = await start_gateway(assembler={**ALLOW, "fetch_max_bytes": 2000, "fetch_timeout_s": 0.5})
    big = files.add("limits/big.wsdl", wsdls.typed(files.url("echo")) + " " * 3000)
    j = await problem(await gw.call(f"wsdl:{big}#Order", {}), 404, "service-not-found")
    assert j["reason"] == "the WSDL could not be fetched"  # SPEC §10.3: no more than that
    slow = files.url("slow") + "?s=2"
    j = await problem(await gw.call(f"wsdl:{slow}#GetLastTradePrice", {}), 404, "service-not-found")
    assert j["reason"] == "the WSDL could not be fetched"


async def test_http_failures_without_fault(gw, files, responder):
    closed = f"http://127.0.0.1:{free_port()}/soap"
    cases = {
        responder.url("soap500"): "upstream answered 500",
        responder.url("html200"): "not a SOAP envelope",
        closed: "cannot connect",
    }
    for i, (address, reason) in enumerate(cases.items()):
        url = files.add(f"fail/{i}.wsdl", handmade.rpc_literal(address))
        r = await gw.call(f"wsdl:{url}#Add", {"a": 1, "b": 2})
        j = await problem(r, 502, "stage-failed")
        assert reason in j["reason"] and j["service"] and "fault_code" not in j, j


async def test_hostile_xml_is_rejected_before_any_call(gw, files, responder):
    url = files.add("hostile/rpc.wsdl", handmade.rpc_literal(responder.url()))
    before = len(responder.received)
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE Add [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Add><a>&x;</a></Add>"
    )
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<Add><a>&lol3;</a></Add>"
    )
    for payload in (xxe, laughs):
        j = await problem(
            await gw.call(f"wsdl:{url}#Add", payload, "application/xml"), 422, "stage-rejected"
        )
        assert j["stage"] == 0 and j["reason"]
    assert len(responder.received) == before


async def test_a_chain_of_soap_stages_feeds_each_answer_on(gw, files, responder):
    rpc = files.add("chain/rpc.wsdl", handmade.rpc_literal(responder.url()))
    bare = files.add("chain/bare.wsdl", handmade.document_bare(responder.url()))
    # Add's answer <AddResponse><sum>8</sum></AddResponse> holds Half's part.
    r = await gw.call(f"wsdl:{rpc}#Add | wsdl:{rpc}#Half", {"a": 3, "b": 5})
    assert r.status == 200, r.body
    assert etree.fromstring(r.body).findtext("half") == "4"
    # Across WSDLs and styles: document/literal bare, then rpc/literal.
    r = await gw.call(
        f"wsdl:{bare}#Price | XML -> JSON | wsdl:{rpc}#Half", b"<Amount>3</Amount>", "text/xml"
    )
    await problem(r, 422, "stage-rejected")  # <Total> is not Half's <sum>


async def test_a_fetched_wsdl_calls_only_allowed_hosts_and_is_never_imported(gw, files):
    # SPEC §10.3: the address inside a fetched WSDL is held to fetch_wsdl_hosts too.
    elsewhere = files.url("echo", host="localhost")
    url = files.add("leak/elsewhere.wsdl", wsdls.stock(elsewhere))
    before = len(files.requests)
    j = await problem(await gw.call(f"wsdl:{url}#GetLastTradePrice", {}), 404, "service-not-found")
    assert "localhost" in j["reason"] and "fetch_wsdl_hosts" in j["reason"]
    assert not [r for r in files.requests[before:] if "echo" in r]  # nothing was posted
    # Many distinct URLs: none of them becomes an import, and their operations have no name.
    for i in range(30):
        other = files.add(f"many/{i}.wsdl", wsdls.stock(files.url("echo")))
        r = await gw.call(f"wsdl:{other}#GetLastTradePrice", {"tickerSymbol": "X"})
        assert r.status == 200, r.body[:300]
    assert (await (await gw.adm("GET", "/imports")).json())["items"] == []
    listed = (await (await gw.adm("GET", "/services")).json())["items"]
    assert not [e for e in listed if e["kind"] == "soap"]
    await problem(
        await gw.call("StockQuoteService.GetLastTradePrice", {}), 404, "service-not-found"
    )
