"""SOAP through the whole gateway (SPEC §2 by contract, §3 soap, §5 /imports): the
example peer in its own process, WSDLs served over HTTP, the gateway on loopback."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import problem
from tests.soap.conftest import CORPUS

PATENT = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


@pytest.fixture
async def soap_gw(start_gateway, soap_peer):
    return await start_gateway(assembler={"fetch_wsdl_hosts": ["127.0.0.1"]})


async def _import(gw, **body):
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", **body})
    assert r.status == 201, await r.text()
    return await r.json()


async def test_patent_five_stage_chain_answers(soap_gw, soap_peer):
    import httpx

    formatter = httpx.get(f"{soap_peer}/formatter?wsdl").text
    await _import(soap_gw, document=formatter, base_url="http://www.cloud.com/formatter")
    await _import(soap_gw, url=f"{soap_peer}/customer?wsdl", prefix="customer.cz")
    r = await soap_gw.call(PATENT, {"XMLCheck": {"document": "hello"}})
    assert r.status == 200, await r.text()
    assert "ORDER-ACCEPTED:OK:HELLO" in await r.text()
    assert r.headers["Integration-App"] == "a7cd4417c017c88b8dcc6ca000228db8"
    assert r.headers["Server-Timing"].count("dur=") == 5
    again = await soap_gw.call(PATENT, {"XMLCheck": {"document": "again"}})
    assert again.headers["Integration-Cache"] == "hit"
    assert "ORDER-ACCEPTED:OK:AGAIN" in await again.text()


async def test_contract_fetched_from_an_allowed_host(soap_gw, soap_peer):
    r = await soap_gw.call(
        f"JSON -> XML | wsdl:{soap_peer}/formatter?wsdl#XMLCheck", {"XMLCheck": {"document": "kit"}}
    )
    assert r.status == 200, await r.text()
    assert "OK:KIT" in await r.text()


async def test_contract_on_a_host_not_allowed_is_not_found(start_gateway, soap_peer):
    gw = await start_gateway()  # fetch_wsdl_hosts = []
    r = await gw.call(f"wsdl:{soap_peer}/formatter?wsdl#XMLCheck", {"document": "x"})
    j = await problem(r, 404, "service-not-found")
    assert j["stage"] == 0 and j["reason"]


async def test_soap_fault_is_stage_failed_with_code_and_string(soap_gw, soap_peer):
    r = await soap_gw.call(f"wsdl:{soap_peer}/formatter?wsdl#XMLCheck", {"document": "FAIL"})
    j = await problem(r, 502, "stage-failed")
    assert j["fault_code"] == "Client" and j["fault_string"] == "document refused"


async def test_xml_with_entities_is_rejected(soap_gw, soap_peer):
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<XMLCheck><document>&x;</document></XMLCheck>"
    )
    r = await soap_gw.call(f"wsdl:{soap_peer}/formatter?wsdl#XMLCheck", xxe, "application/xml")
    await problem(r, 422, "stage-rejected")


async def test_import_corpus_documents(soap_gw, files):
    j = await _import(soap_gw, document=(CORPUS / "soap.wsdl").read_text(), prefix="kit.stock")
    assert "kit.stock.GetLastTradePrice" in {e["name"] for e in j["items"]}
    j = await _import(soap_gw, url=files.url("corpus/hello_world_recursive.wsdl"))
    assert j["items"] and all(e["kind"] == "soap" for e in j["items"])
    listed = await (await soap_gw.adm("GET", "/imports")).json()
    assert len(listed["items"]) == 2
    one = await (await soap_gw.adm("GET", f"/imports/{j['id']}")).json()
    assert sorted(one["items"]) == sorted(e["id"] for e in j["items"])


async def test_bad_import_is_invalid_entry(soap_gw):
    await problem(
        await soap_gw.adm("POST", "/imports", {"kind": "wsdl", "document": "<x/>"}),
        422,
        "invalid-entry",
    )
    await problem(
        await soap_gw.adm("POST", "/imports", {"kind": "wsdl", "url": "file:///etc/passwd"}),
        422,
        "invalid-entry",
    )
    await problem(await soap_gw.adm("POST", "/imports", {"kind": "soap"}), 422, "invalid-entry")


async def test_refresh_undeploys_applications_of_the_import(soap_gw, soap_peer):
    j = await _import(soap_gw, url=f"{soap_peer}/formatter?wsdl", prefix="fmt")
    r = await soap_gw.call("fmt.XMLCheck", {"document": "a"})
    assert r.status == 200, await r.text()
    key = r.headers["Integration-App"]
    changes = await (await soap_gw.adm("POST", f"/imports/{j['id']}/refresh")).json()
    assert set(changes) == {"added", "changed", "removed"}
    await problem(await soap_gw.adm("GET", f"/applications/{key}"), 404, "not-found")
    r = await soap_gw.call("fmt.XMLCheck", {"document": "b"})
    assert r.status == 200 and r.headers["Integration-Cache"] == "miss"


async def test_importing_the_same_wsdl_again_updates_it(soap_gw, soap_peer):
    first = await _import(soap_gw, url=f"{soap_peer}/formatter?wsdl", prefix="again")
    key = (await soap_gw.call("again.XMLCheck", {"document": "a"})).headers["Integration-App"]
    second = await _import(soap_gw, url=f"{soap_peer}/formatter?wsdl", prefix="again")
    assert second["id"] == first["id"]
    assert [e["id"] for e in second["items"]] == [e["id"] for e in first["items"]]
    await problem(await soap_gw.adm("GET", f"/applications/{key}"), 404, "not-found")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "file://localhost/etc/passwd", "ftp://127.0.0.1/x.wsdl"]
)
async def test_contract_url_that_is_not_http_is_not_found_with_a_reason(soap_gw, url):
    r = await soap_gw.call(f"wsdl:{url}#Op", {"a": "1"})
    j = await problem(r, 404, "service-not-found")
    assert j["stage"] == 0 and j["descriptor"] == f"wsdl:{url}#Op" and j["reason"]


async def test_concurrent_misses_wait_for_one_assembly_as_shared(soap_gw, soap_peer):
    # Fetching and importing the WSDL takes a while off the event loop: the requests
    # that arrive meanwhile wait for that assembly instead of starting their own.
    header = f"wsdl:{soap_peer}/formatter?wsdl#XMLCheck"
    results = await asyncio.gather(*(soap_gw.call(header, {"document": f"d{i}"}) for i in range(6)))
    assert all(r.status == 200 for r in results), [r.body[:200] for r in results]
    caches = sorted(r.headers["Integration-Cache"] for r in results)
    assert caches.count("miss") == 1 and "shared" in caches, caches
    assert len({r.headers["Integration-App"] for r in results}) == 1
