"""Made-up WSDLs for the soap tests (the real ones are in ../shared/corpus)."""

from __future__ import annotations

from tests.soap.conftest import CORPUS

TNS = "urn:test:shop"


def stock(address: str) -> str:
    """The corpus's soap.wsdl (StockQuote) with its port's address changed."""
    text = (CORPUS / "soap.wsdl").read_text()
    return text.replace('location="http://example.com/stockquote"', f'location="{address}"')


def _definitions(types: str, rest: str, *, name: str = "Shop") -> str:
    return f"""<?xml version="1.0"?>
<definitions name="{name}" targetNamespace="{TNS}" xmlns:tns="{TNS}"
    xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:http="http://schemas.xmlsoap.org/wsdl/http/">
  <types>
    <xsd:schema targetNamespace="{TNS}" elementFormDefault="qualified">
{types}
    </xsd:schema>
  </types>
{rest}
</definitions>"""


def _binding(name: str, ops: list[str], soap: str = "soap", headers: str = "") -> str:
    operations = "".join(
        f"""
    <operation name="{op}">
      <{soap}:operation soapAction="urn:{op}"/>
      <input>{headers}<{soap}:body use="literal"/></input>
      <output><{soap}:body use="literal"/></output>
    </operation>"""
        for op in ops
    )
    return f"""  <binding name="{name}" type="tns:ShopPortType">
    <{soap}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>{operations}
  </binding>"""


def _messages(ops: list[str]) -> str:
    out = []
    for op in ops:
        out.append(
            f"""  <message name="{op}In"><part name="parameters" element="tns:{op}"/></message>
  <message name="{op}Out"><part name="parameters" element="tns:{op}Response"/></message>"""
        )
    port_ops = "".join(
        f"""
    <operation name="{op}">
      <input message="tns:{op}In"/><output message="tns:{op}Out"/></operation>"""
        for op in ops
    )
    out.append(f"""  <portType name="ShopPortType">{port_ops}
  </portType>""")
    return "\n".join(out)


def _wrapper(op: str, children: str) -> str:
    return f"""      <xsd:element name="{op}"><xsd:complexType><xsd:sequence>{children}
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="{op}Response"><xsd:complexType><xsd:sequence>
        <xsd:element name="result" type="xsd:string"/>
      </xsd:sequence></xsd:complexType></xsd:element>"""


def _service(address: str, name: str = "Shop") -> str:
    """Service `name` with one SOAP 1.1 port, `ShopPort`, at `address`."""
    return f"""
  <service name="{name}"><port name="ShopPort" binding="tns:ShopBinding">
    <soap:address location="{address}"/></port></service>"""


def _soap11_shop(ops: list[str], address: str, *, service: str = "Shop") -> str:
    """Messages and a SOAP 1.1 binding for `ops`, and the service offering them."""
    return _messages(ops) + _binding("ShopBinding", ops) + _service(address, service)


def with_header(address: str) -> str:
    """`Submit(order, qty)` with a SOAP header part `AuthHeader(user, token)`."""
    types = (
        _wrapper(
            "Submit",
            '<xsd:element name="order" type="xsd:string"/><xsd:element name="qty" type="xsd:int"/>',
        )
        + """
      <xsd:element name="AuthHeader"><xsd:complexType><xsd:sequence>
        <xsd:element name="user" type="xsd:string"/><xsd:element name="token" type="xsd:string"/>
      </xsd:sequence></xsd:complexType></xsd:element>"""
    )
    rest = (
        _messages(["Submit"])
        + """
  <message name="Auth"><part name="auth" element="tns:AuthHeader"/></message>
"""
        + _binding(
            "ShopBinding",
            ["Submit"],
            headers='<soap:header message="tns:Auth" part="auth" use="literal"/>',
        )
        + _service(address)
    )
    return _definitions(types, rest)


def soap12(address: str) -> str:
    """`Submit(order, qty)` on a SOAP 1.2 port only."""
    types = _wrapper(
        "Submit",
        '<xsd:element name="order" type="xsd:string"/><xsd:element name="qty" type="xsd:int"/>',
    )
    rest = (
        _messages(["Submit"])
        + _binding("Shop12Binding", ["Submit"], soap="soap12")
        + f"""
  <service name="Shop"><port name="Shop12Port" binding="tns:Shop12Binding">
    <soap12:address location="{address}"/></port></service>"""
    )
    return _definitions(types, rest)


def multi_port(address: str) -> str:
    """Two services offering `Echo`: `Shop` on a SOAP 1.2, a SOAP 1.1 and an HTTP port
    (`Ping` only on the 1.2 one), and `Mirror` on a SOAP 1.1 port."""
    types = _wrapper("Echo", '<xsd:element name="text" type="xsd:string"/>') + _wrapper("Ping", "")
    http_binding = """  <binding name="ShopHttp" type="tns:ShopPortType">
    <http:binding verb="GET"/>
    <operation name="Echo"><http:operation location="/echo"/>
      <input><http:urlEncoded/></input>
      <output><mime:mimeXml xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/"/></output>
    </operation>
  </binding>"""
    rest = (
        _messages(["Echo", "Ping"])
        + "\n"
        + _binding("Shop12", ["Echo", "Ping"], soap="soap12")
        + "\n"
        + _binding("Shop11", ["Echo"])
        + "\n"
        + http_binding
        + f"""
  <service name="Shop">
    <port name="ShopHttpPort" binding="tns:ShopHttp"><http:address location="{address}"/></port>
    <port name="Shop12Port" binding="tns:Shop12"><soap12:address location="{address}"/></port>
    <port name="Shop11Port" binding="tns:Shop11"><soap:address location="{address}"/></port>
  </service>
  <service name="Mirror">
    <port name="MirrorPort" binding="tns:Shop11"><soap:address location="{address}"/></port>
  </service>"""
    )
    return _definitions(types, rest)


def http_only(address: str) -> str:
    """An HTTP GET port and no SOAP port."""
    types = _wrapper("Echo", '<xsd:element name="text" type="xsd:string"/>')
    rest = (
        _messages(["Echo"])
        + """
  <binding name="ShopHttp" type="tns:ShopPortType">
    <http:binding verb="GET"/>
    <operation name="Echo"><http:operation location="/echo"/>
      <input><http:urlEncoded/></input><output><http:urlReplacement/></output>
    </operation>
  </binding>"""
        + f"""
  <service name="Shop">
    <port name="ShopHttpPort" binding="tns:ShopHttp"><http:address location="{address}"/></port>
  </service>"""
    )
    return _definitions(types, rest)


def typed(address: str) -> str:
    """`Order` with children of many simple types, a repeated one, a complex one, and
    one whose name is not an ident."""
    named = """
      <xsd:simpleType name="Level"><xsd:restriction base="xsd:int">
        <xsd:minInclusive value="1"/></xsd:restriction></xsd:simpleType>
      <xsd:complexType name="Address"><xsd:sequence>
        <xsd:element name="street" type="xsd:string"/></xsd:sequence></xsd:complexType>"""
    types = named + _wrapper(
        "Order",
        """
        <xsd:element name="count" type="xsd:int"/>
        <xsd:element name="big" type="xsd:long"/>
        <xsd:element name="price" type="xsd:decimal"/>
        <xsd:element name="ratio" type="xsd:double"/>
        <xsd:element name="rush" type="xsd:boolean"/>
        <xsd:element name="when" type="xsd:dateTime"/>
        <xsd:element name="level" type="tns:Level"/>
        <xsd:element name="tag" type="xsd:string" maxOccurs="unbounded"/>
        <xsd:element name="ship.to" type="xsd:string" minOccurs="0"/>
        <xsd:element name="address" type="tns:Address" minOccurs="0"/>""",
    )
    rest = _soap11_shop(["Order"], address)
    return _definitions(types, rest)


def odd_names(address: str) -> str:
    """A service and operations whose names are not idents, two of which collide."""
    ops = ["getÄ", "get_", "v.2"]
    types = "".join(_wrapper(op, "") for op in ops)
    rest = _soap11_shop(ops, address, service="Služba")
    return _definitions(types, rest)


def well_known(address: str) -> str:
    """Types that import the SOAP encoding and xml.xsd by their well-known URLs."""
    types = """
      <xsd:import namespace="http://schemas.xmlsoap.org/soap/encoding/"
                  schemaLocation="http://schemas.xmlsoap.org/soap/encoding/"/>
      <xsd:import namespace="http://www.w3.org/XML/1998/namespace"/>
      <xsd:import namespace="http://www.w3.org/2003/05/soap-envelope"
                  schemaLocation="http://www.w3.org/2003/05/soap-envelope"/>
      <xsd:complexType name="Words">
        <xsd:complexContent><xsd:restriction base="soapenc:Array">
          <xsd:attribute ref="soapenc:arrayType" wsdl:arrayType="xsd:string[]"/>
        </xsd:restriction></xsd:complexContent>
      </xsd:complexType>
      <xsd:element name="Say"><xsd:complexType><xsd:sequence>
        <xsd:element name="text" type="xsd:string"/>
        <xsd:element name="words" type="tns:Words" minOccurs="0"/>
      </xsd:sequence><xsd:attribute ref="xml:lang"/></xsd:complexType></xsd:element>
      <xsd:element name="SayResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="result" type="xsd:string"/>
      </xsd:sequence></xsd:complexType></xsd:element>"""
    rest = _soap11_shop(["Say"], address)
    text = _definitions(types, rest)
    return text.replace(
        'xmlns:tns="urn:test:shop"',
        'xmlns:tns="urn:test:shop" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"'
        ' xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"',
        1,
    )


def importing(location: str, address: str = "http://127.0.0.1:9/nowhere") -> str:
    """A WSDL whose types import an XSD from `location`."""
    types = f"""
      <xsd:import namespace="urn:test:other" schemaLocation="{location}"/>""" + _wrapper(
        "Echo", '<xsd:element name="text" type="xsd:string"/>'
    )
    rest = _soap11_shop(["Echo"], address)
    return _definitions(types, rest)


OTHER_XSD = """<?xml version="1.0"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:other">
  <xsd:element name="Other" type="xsd:string"/>
</xsd:schema>"""
