"""A one-way WSDL operation (issue 12): its entry outputs `none`, the type check keeps it
last, and a request ending with it is answered 200 with an empty body."""

from __future__ import annotations

from tests.conftest import problem
from tests.soap import wsdls
from tests.soap.conftest import Files


def one_way(address: str) -> str:
    note = '<xsd:element name="note" type="xsd:string"/>'
    text = wsdls._definitions(
        wsdls._wrapper("Notify", note), wsdls._soap11_shop(["Notify"], address)
    )
    return text.replace('<output><soap:body use="literal"/></output>', "").replace(
        '<output message="tns:NotifyOut"/>', ""
    )


async def test_a_one_way_operation_outputs_nothing_and_stands_last(gw, files: Files):
    url = files.add("oneway.wsdl", one_way(files.url("echo")))
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", "url": url, "prefix": "bell"})
    assert r.status == 201, await r.text()
    (entry,) = (await r.json())["items"]
    assert entry["name"] == "bell.Notify" and entry["output"] == "none"
    before = files.asked("echo")
    answer = await gw.call("bell.Notify", {"note": "ring"})
    assert answer.status == 200, await answer.text()
    assert await answer.read() == b"" and "Server-Timing" in answer.headers
    assert files.asked("echo") == before + 1  # it was sent
    j = await problem(await gw.call("bell.Notify | validator", {"note": "x"}), 422, "type-mismatch")
    assert j["stage"] == 1 and j["produces"] == "none"
