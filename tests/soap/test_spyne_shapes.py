"""SOAP through the whole gateway against spyne services of other shapes than the
example's (tests/soap/spyne_peers.py): several operations, integers, booleans, dates,
nested types and arrays, SOAP 1.2, faults with a detail, two services offering one
operation."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import problem
from tests.soap import spyne_peers


@pytest.fixture(scope="module")
def spyne_peer():
    yield from spyne_peers.serve()


@pytest.fixture
def gw(allowed_gw):
    return allowed_gw


def text_of(r, name: str) -> list[str]:
    """The texts of the elements called `name` (any namespace) in a 200 answer."""
    assert r.status == 200, r.body[:800]
    root = etree.fromstring(r.body)
    return [e.text or "" for e in root.iter() if etree.QName(e).localname == name]


async def _import(gw, **body):
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", **body})
    assert r.status == 201, await r.text()
    return await r.json()


async def test_import_names_every_operation_with_simple_params(gw, spyne_peer):
    j = await _import(gw, url=f"{spyne_peer}/shop?wsdl")
    by_name = {e["name"]: e for e in j["items"]}
    assert {"Shop.add", "Shop.is_adult", "Shop.days_between", "Shop.describe"} <= set(by_name)
    assert by_name["Shop.add"]["params"] == {
        "a": {"type": ["integer", "null"], "default": None},
        "b": {"type": ["integer", "null"], "default": None},
    }
    assert by_name["Shop.is_adult"]["params"]["strict"]["type"] == ["boolean", "null"]
    assert by_name["Shop.days_between"]["params"]["start"]["type"] == ["string", "null"]
    assert by_name["Shop.describe"]["params"] == {}  # a complex child is the payload's


async def test_json_integers_and_descriptor_args_override_the_payload(gw, spyne_peer):
    url = f"wsdl:{spyne_peer}/shop?wsdl"
    r = await gw.call(f"{url}#add", {"a": 2, "b": 40})
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"].startswith("application/xml")
    assert text_of(r, "addResult") == ["42"]
    # A fetched WSDL is no import (SPEC §10.3): by name once imported, where arguments
    # replace the payload's parameters.
    await problem(await gw.call("Shop.add(a=1)", {"a": 100, "b": 2}), 404, "service-not-found")
    await _import(gw, url=f"{spyne_peer}/shop?wsdl")
    r = await gw.call("Shop.add(a=1)", {"a": 100, "b": 2})
    assert text_of(r, "addResult") == ["3"], r.body
    r = await gw.call("Shop.add(a=5, b=6)", {})
    assert text_of(r, "addResult") == ["11"], r.body
    r = await gw.call("Shop.add(a=5)", b"<add><a>1</a><b>7</b></add>", "application/xml")
    assert text_of(r, "addResult") == ["12"], r.body


async def test_booleans_dates_and_their_bad_values(gw, spyne_peer):
    url = f"wsdl:{spyne_peer}/shop?wsdl"
    await _import(gw, url=f"{spyne_peer}/shop?wsdl")
    r = await gw.call("Shop.is_adult(age=20, strict=true)", {})
    assert text_of(r, "is_adultResult") == ["false"], r.body
    r = await gw.call(f"{url}#is_adult", {"age": 20, "strict": False})
    assert text_of(r, "is_adultResult") == ["true"], r.body
    r = await gw.call(f"{url}#days_between", {"start": "2024-01-01", "end": "2024-03-01"})
    assert text_of(r, "days_betweenResult") == ["60"], r.body
    j = await problem(await gw.call("Shop.days_between(start=soon)", {}), 422, "invalid-parameter")
    assert j["parameter"] == "start"
    j = await problem(await gw.call("Shop.add(a=x1)", {}), 422, "invalid-parameter")
    assert j["parameter"] == "a"
    j = await problem(await gw.call(f"{url}#add", {"a": "x1"}), 422, "stage-rejected")
    assert "x1" in j["reason"]


async def test_nested_types_and_arrays_from_xml_without_namespaces(gw, spyne_peer):
    url = f"wsdl:{spyne_peer}/shop?wsdl"
    person = (
        b"<describe><person><name>Ann</name><born>1990-05-01</born>"
        b"<address><street>Main</street><city>Brno</city></address>"
        b"<tags><string>x</string><string>y</string></tags></person></describe>"
    )
    r = await gw.call(f"{url}#describe", person, "application/xml")
    assert r.status == 200, await r.text()
    assert text_of(r, "describeResult") == ["Ann/1990-05-01/Brno/x,y"]
    # The same as JSON: lists are repeated elements.
    r = await gw.call(
        f"{url}#describe",
        {
            "person": {
                "name": "Bo",
                "born": "2001-02-03",
                "address": {"city": "Praha"},
                "tags": {"string": ["q"]},
            }
        },
    )
    assert text_of(r, "describeResult") == ["Bo/2001-02-03/Praha/q"], r.body
    r = await gw.call(f"{url}#total", {"values": {"integer": [1, 2, 3, 4]}})
    assert text_of(r, "totalResult") == ["10"], r.body


async def test_an_array_of_complex_values_comes_back_as_xml(gw, spyne_peer):
    r = await gw.call(f"wsdl:{spyne_peer}/shop?wsdl#people", {"count": 2})
    assert r.status == 200, await r.text()
    root = etree.fromstring(r.body)
    assert etree.QName(root).localname == "peopleResponse"
    assert text_of(r, "name") == ["p0", "p1"]
    assert text_of(r, "city") == ["Brno", "Brno"]


async def test_one_answer_feeds_the_next_operation(gw, spyne_peer):
    url = f"wsdl:{spyne_peer}/shop?wsdl"
    r = await gw.call(f"{url}#split_name | {url}#greet", {"full": "Ada Lovelace"})
    assert r.status == 200, await r.text()
    assert text_of(r, "greetResult") == ["Hello Ada Lovelace!"]
    # The answer as XML into a by-name stage, a descriptor argument overriding one part.
    await _import(gw, url=f"{spyne_peer}/shop?wsdl")
    r = await gw.call(
        f"{url}#split_name | Shop.greet(last=Byron)",
        b"<split_name><full>Ada Lovelace</full></split_name>",
        "application/xml",
    )
    assert text_of(r, "greetResult") == ["Hello Ada Byron!"], r.body


async def test_fault_with_detail_is_stage_failed(gw, spyne_peer):
    r = await gw.call(f"wsdl:{spyne_peer}/shop?wsdl#refuse", {"reason": "out of stock"})
    j = await problem(r, 502, "stage-failed")
    assert j["fault_code"] == "Client.Refused" and j["fault_string"] == "out of stock"
    assert j["stage"] == 0 and j["service"]
    r = await gw.call(f"wsdl:{spyne_peer}/shop?wsdl#crash", {})
    j = await problem(r, 502, "stage-failed")
    assert j["fault_code"] == "Server", j


async def test_soap12_service(gw, spyne_peer):
    url = f"wsdl:{spyne_peer}/shop12?wsdl"
    r = await gw.call(f"{url}#add", {"a": 20, "b": 22})
    assert r.status == 200, await r.text()
    assert text_of(r, "addResult") == ["42"]
    r = await gw.call(f"{url}#split_name | {url}#greet", {"full": "Grace Hopper"})
    assert text_of(r, "greetResult") == ["Hello Grace Hopper!"], r.body
    j = await problem(await gw.call(f"{url}#refuse", {"reason": "no"}), 502, "stage-failed")
    assert j["fault_code"] == "Sender.Refused" and j["fault_string"] == "no", j


async def test_an_operation_of_two_services_is_ambiguous_until_qualified(gw, spyne_peer):
    url = f"wsdl:{spyne_peer}/two?wsdl"
    j = await problem(await gw.call(f"{url}#echo", {"text": "hi"}), 409, "ambiguous-service")
    assert sorted(c["name"] for c in j["candidates"]) == ["Left.echo", "Right.echo"]
    r = await gw.call(f"{url}#Left.TwoServices.echo", {"text": "hi"})
    assert r.status == 200, await r.text()
    assert text_of(r, "echoResult") == ["left:hi"]
    r = await gw.call(f"{url}#Right.TwoServices.echo", {"text": "hi"})
    assert r.status == 200, await r.text()
    await problem(await gw.call(f"{url}#Left.NoPort.echo", {}), 404, "service-not-found")
