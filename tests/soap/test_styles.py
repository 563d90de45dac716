"""SOAP styles spyne does not write, through the whole gateway: hand-written WSDLs served
over HTTP (tests/soap/conftest.py's file server) and a strict responder
(tests/soap/handmade.py) that faults on any request a real server of that style would
refuse."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import problem
from tests.soap import handmade, wsdls
from tests.soap.conftest import ALLOW, echoed, texts


@pytest.fixture
async def gw(start_gateway):
    return await start_gateway(
        assembler=ALLOW,
        connections={"shop": {"headers": {"AuthHeader": '{"user": "ann", "token": "s3cret"}'}}},
    )


async def _import(gw, **body):
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", **body})
    assert r.status == 201, await r.text()
    return {e["name"]: e for e in (await r.json())["items"]}


async def test_rpc_literal(gw, files, responder):
    url = files.add("styles/rpc.wsdl", handmade.rpc_literal(responder.url()))
    entries = await _import(gw, url=url)
    assert entries["Calc.Add"]["params"] == {
        "a": {"type": ["integer", "null"], "default": None},
        "b": {"type": ["integer", "null"], "default": None},
    }
    r = await gw.call(f"wsdl:{url}#Add", {"a": 2, "b": 3})
    assert texts(r, "sum") == ["5"]
    r = await gw.call("Calc.Add(b=10)", b"<Add><a>1</a><b>2</b></Add>", "application/xml")
    assert texts(r, "sum") == ["11"]
    r = await gw.call(
        "Calc.Add", b'<x:Add xmlns:x="urn:other"><x:a>4</x:a><b>4</b></x:Add>', "text/xml"
    )
    assert texts(r, "sum") == ["8"]
    r = await gw.call("Calc.Now", b"")  # no parts at all
    assert texts(r, "now") == ["2024-01-02T03:04:05Z"]
    r = await gw.call("Calc.Add(a=1, b=1) | Calc.Add(a=5)", {})  # <sum> is not a part
    await problem(r, 422, "stage-rejected")


async def test_document_literal_bare_parts(gw, files, responder):
    url = files.add("styles/bare.wsdl", handmade.document_bare(responder.url()))
    entries = await _import(gw, url=url)
    assert entries["Bare.Order"]["params"] == {
        "OrderId": {"type": ["string", "null"], "default": None},
        "Quantity": {"type": ["integer", "null"], "default": None},
    }
    r = await gw.call(f"wsdl:{url}#Order", {"OrderId": "A1", "Quantity": 3})
    assert texts(r, "Confirmation") == ["A1 x3"]
    # XML: any root whose children are the parts, in any order and namespace.
    xml = b"<anything><Quantity>2</Quantity><OrderId>B2</OrderId></anything>"
    r = await gw.call("Bare.Order(Quantity=7)", xml, "application/xml")
    assert texts(r, "Confirmation") == ["B2 x7"]
    # One simple-typed part: the element itself, or JSON named by it.
    r = await gw.call(f"wsdl:{url}#Price", b"<Amount>2.25</Amount>", "application/xml")
    assert texts(r, "Total") == ["4.5"]
    r = await gw.call(f"wsdl:{url}#Price", {"Amount": 1.5})
    assert texts(r, "Total") == ["3"]
    j = await problem(await gw.call(f"wsdl:{url}#Price", {"Amount": "lots"}), 422, "stage-rejected")
    assert "lots" in j["reason"]


async def test_soap12_only_binding(gw, files, responder):
    url = files.add("styles/soap12.wsdl", wsdls.soap12(responder.url()))
    r = await gw.call(f"wsdl:{url}#Submit", {"order": "o1", "qty": 2})
    assert texts(r, "result") == ["o1x2 by - over 1.2"]
    headers, _ = responder.received[-1]
    assert headers["content-type"].startswith("application/soap+xml")
    assert 'action="urn:Submit"' in headers["content-type"]


async def test_header_parts_come_from_the_connection_alias(gw, files, responder):
    url = files.add("styles/header.wsdl", wsdls.with_header(responder.url()))
    await _import(gw, url=url, prefix="shop", connection="shop")
    r = await gw.call("shop.Submit(qty=4)", {"order": "o2"})
    assert texts(r, "result") == ["o2x4 by ann over 1.1"]
    _, sent = responder.received[-1]
    header = etree.fromstring(sent).find(f"{{{handmade.SOAP11}}}Header")
    assert header is not None and header[0].tag == f"{{{handmade.SHOP_NS}}}AuthHeader"


async def test_xsd_imported_by_relative_location_including_another(gw, files, responder):
    files.add("rel/types/lookup.xsd", handmade.LOOKUP_XSD)
    files.add("rel/types/lookup-parts.xsd", handmade.LOOKUP_PARTS_XSD)
    url = files.add("rel/lookup.wsdl", handmade.importing_relative(responder.url()))
    r = await gw.call(f"wsdl:{url}#Lookup", {"key": "k1", "limit": 3})
    assert texts(r, "value") == ["k1:3"]
    # The same WSDL as a document: relative locations resolve against its base_url.
    text = handmade.importing_relative(responder.url())
    entries = await _import(gw, document=text, base_url=url.replace("lookup.wsdl", "doc.wsdl"))
    # The first WSDL was fetched, not imported (SPEC §10.3): this name is free.
    assert entries["Directory.Lookup"]["params"]["limit"] == {
        "type": ["integer", "null"],
        "default": None,
    }
    r = await gw.call("Directory.Lookup(limit=9)", {"key": "k3"})
    assert texts(r, "value") == ["k3:9"]


async def test_wsdl_schema_with_xs_include(gw, files, responder):
    files.add("inc/lookup-parts.xsd", handmade.LOOKUP_PARTS_XSD)
    url = files.add("inc/lookup.wsdl", handmade.including(responder.url()))
    r = await gw.call(f"wsdl:{url}#Lookup", b"<Lookup><key>k2</key></Lookup>", "application/xml")
    assert texts(r, "value") == ["k2:-"]


async def test_well_known_schemas_load_without_network(gw, files, responder):
    # Only 127.0.0.1 may be fetched: the SOAP encoding and xml.xsd must come from the
    # gateway's own copies.
    url = files.add("styles/well-known.wsdl", wsdls.well_known(responder.url()))
    r = await gw.call(f"wsdl:{url}#Say", {"text": "hi"})
    # The responder does not know Say: its fault proves the envelope was sent.
    j = await problem(r, 502, "stage-failed")
    assert j["fault_code"] == "Client" and "Say" in j["fault_string"]
    assert files.asked("well-known.wsdl") == 1


async def test_dotnet_style_wsdl(gw, files):
    url = files.add("styles/Svc.svc", handmade.dotnet_style(files.url("echo")))
    payload = {"value": 3, "composite": {"BoolValue": True, "StringValue": "s"}}
    r = await gw.call(f"wsdl:{url}?wsdl#GetData", payload)
    assert r.status == 200, r.body
    headers, envelope = echoed(r.body)
    assert headers["soapaction"] == '"http://tempuri.org/ISvc/GetData"'
    get_data = envelope[0][0]
    assert get_data.tag == "{http://tempuri.org/}GetData"
    # The data contract's schema is unqualified: its children have no namespace.
    composite = get_data.find("{http://tempuri.org/}composite")
    assert [c.tag for c in composite] == ["BoolValue", "StringValue"]
