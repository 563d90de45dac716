"""XSD facets become parameter schemas (issue 12): a WSDL's enumerations, patterns,
lengths and bounds are checked before the call."""

from __future__ import annotations

from tests.conftest import problem
from tests.soap import wsdls
from tests.soap.conftest import Files

COLOR = """      <xsd:simpleType name="Color"><xsd:restriction base="xsd:string">
        <xsd:enumeration value="red"/><xsd:enumeration value="blue"/>
      </xsd:restriction></xsd:simpleType>
      <xsd:simpleType name="Warm"><xsd:restriction base="tns:Color">
        <xsd:maxLength value="4"/></xsd:restriction></xsd:simpleType>
"""
CHILDREN = """<xsd:element name="color" type="tns:Color"/>
<xsd:element name="warm" type="tns:Warm"/>
<xsd:element name="code"><xsd:simpleType><xsd:restriction base="xsd:string">
  <xsd:pattern value="[A-Z]{3}"/></xsd:restriction></xsd:simpleType></xsd:element>
<xsd:element name="n"><xsd:simpleType><xsd:restriction base="xsd:int">
  <xsd:minInclusive value="1"/><xsd:maxExclusive value="10"/></xsd:restriction></xsd:simpleType>
</xsd:element>"""


def paint(address: str) -> str:
    types = COLOR + wsdls._wrapper("Paint", CHILDREN)
    return wsdls._definitions(types, wsdls._soap11_shop(["Paint"], address))


async def test_facets_are_checked_before_the_call(gw, files: Files):
    url = files.add("paint.wsdl", paint(files.url("echo")))
    r = await gw.adm("POST", "/imports", {"kind": "wsdl", "url": url, "prefix": "paint"})
    assert r.status == 201, await r.text()
    (entry,) = (await r.json())["items"]
    params = entry["params"]
    assert params["color"]["enum"] == ["red", "blue", None]
    assert params["warm"]["enum"] == ["red", "blue", None] and params["warm"]["maxLength"] == 4
    assert params["code"]["pattern"] == "^(?:[A-Z]{3})$"
    assert params["n"]["minimum"] == 1 and params["n"]["exclusiveMaximum"] == 10
    before = files.asked("echo")
    for bad, name in (("color=green", "color"), ("code=ab", "code"), ("n=10", "n")):
        j = await problem(await gw.call(f"paint.Paint({bad})", b""), 422, "invalid-parameter")
        assert j["parameter"] == name
    assert files.asked("echo") == before  # nothing was sent
    ok = await gw.call("paint.Paint(color=red, warm=blue, code=ABC, n=3)", b"")
    assert ok.status == 200, await ok.text()
