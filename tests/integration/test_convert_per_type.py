"""auto_convert behind `same` stages (SPEC §2, issue 12): the application keeps a pipe
per request type that needs one, with the converter a stage of its own, and the key
still the header's alone."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import problem


@pytest.fixture
async def ac(start_gateway):
    return await start_gateway(assembler={"auto_convert": True})


async def test_a_json_request_gets_a_converter_and_an_xml_one_does_not(ac):
    json_answer = await ac.call("validator | xml_to_json", {"a": "1"})
    assert json_answer.status == 200, await json_answer.text()
    assert await json_answer.json() == {"a": "1"}
    timing = json_answer.headers["Server-Timing"]
    assert [p.split(";")[1] for p in timing.split(", ")] == [
        'desc="validator"', 'desc="json_to_xml"', 'desc="xml_to_json"'
    ]  # fmt: skip
    xml_answer = await ac.call("validator | xml_to_json", b"<a>1</a>", ctype="application/xml")
    assert xml_answer.status == 200, await xml_answer.text()
    assert xml_answer.headers["Server-Timing"].count("dur=") == 2
    assert json_answer.headers["Integration-App"] == xml_answer.headers["Integration-App"]
    again = await ac.call("validator | xml_to_json", {"b": "2"})
    assert again.headers["Integration-Cache"] == "hit" and await again.json() == {"b": "2"}
    assert len(list(ac.gateway.applications)) == 1


async def test_a_type_no_converter_takes_is_still_415(ac):
    r = await ac.call("validator | xml_to_json", b"a,b", ctype="text/csv")
    await problem(r, 415, "unsupported-input")


async def test_without_auto_convert_it_is_415(gw):
    r = await gw.call("validator | xml_to_json", {"a": "1"})
    await problem(r, 415, "unsupported-input")


async def test_the_inserted_converter_is_held_to_the_clients_grant(start_gateway):
    gw = await start_gateway(
        assembler={"auto_convert": True}, gateway={"require_client_auth": True}
    )
    grant = {"name": "c", "allow": ["validator", "xml_to_json"]}
    made = await (await gw.adm("POST", "/clients", grant)).json()
    token = base64.b64encode(f"{made['id']}:{made['secret']}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    ok = await gw.call("validator | xml_to_json", b"<a>1</a>", ctype="application/xml",
                       headers=auth)  # fmt: skip
    assert ok.status == 200, await ok.text()
    r = await gw.call("validator | xml_to_json", {"a": "1"}, headers=auth)
    assert (await problem(r, 403, "not-allowed"))["services"] == ["json_to_xml@1.0.0"]
