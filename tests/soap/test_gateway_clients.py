"""`wsdl:HOST/PATH` grants (SPEC §9) against the example SOAP peer: imported operations
and a stage from a fetched WSDL, named by its contract in a 403."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import problem


def basic(id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{id}:{secret}".encode()).decode()}


@pytest.fixture
async def soap_ga(start_gateway, soap_peer):
    return await start_gateway(
        gateway={"require_client_auth": True},
        assembler={"fetch_wsdl_hosts": ["127.0.0.1"]},
    )


async def client(gw, allow):
    r = await gw.adm("POST", "/clients", {"name": "soap", "allow": allow})
    body = await r.json()
    return basic(body["id"], body["secret"])


async def test_a_fetched_wsdls_stage_is_granted_by_its_wsdl(soap_ga, soap_peer):
    host = soap_peer.removeprefix("http://")
    header = f"JSON -> XML | wsdl:{soap_peer}/formatter?wsdl#XMLCheck"
    body = {"XMLCheck": {"document": "kit"}}
    allowed = await client(soap_ga, ["json_to_xml", f"wsdl:{host}/formatter*"])
    r = await soap_ga.call(header, body, headers=allowed)
    assert r.status == 200, await r.text()
    assert "OK:KIT" in await r.text()
    elsewhere = await client(soap_ga, ["json_to_xml", f"wsdl:{host}/customer*"])
    j = await problem(await soap_ga.call(header, body, headers=elsewhere), 403, "not-allowed")
    (refused,) = j["services"]
    assert refused.startswith(f"wsdl:{soap_peer}/formatter?wsdl#") and refused.endswith(".XMLCheck")
    # A hit now (deployed for the first client): still refused to the second.
    again = await soap_ga.call(header, body, headers=elsewhere)
    assert (await problem(again, 403, "not-allowed"))["services"] == [refused]


async def test_imported_operations_are_granted_by_wsdl_or_by_name(soap_ga, soap_peer):
    host = soap_peer.removeprefix("http://")
    formatter = httpx.get(f"{soap_peer}/formatter?wsdl").text
    r = await soap_ga.adm(
        "POST",
        "/imports",
        {"kind": "wsdl", "document": formatter, "base_url": f"{soap_peer}/formatter?wsdl"},
    )
    assert r.status == 201, await r.text()
    names = sorted(e["name"] for e in (await r.json())["items"])
    name = next(n for n in names if n.endswith("XMLCheck"))
    body = {"XMLCheck": {"document": "imp"}}
    by_wsdl = await client(soap_ga, ["json_to_xml", f"wsdl:{host}/*"])
    assert (await soap_ga.call(f"JSON -> XML | {name}", body, headers=by_wsdl)).status == 200
    by_name = await client(soap_ga, ["json_to_xml", name.split(".")[0] + ".*"])
    assert (await soap_ga.call(f"JSON -> XML | {name}", body, headers=by_name)).status == 200
    other = await client(soap_ga, ["json_to_xml", "wsdl:example.com/*"])
    j = await problem(
        await soap_ga.call(f"JSON -> XML | {name}", body, headers=other), 403, "not-allowed"
    )
    assert [s.split("@")[0] for s in j["services"]] == [name]
