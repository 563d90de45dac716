"""Hand-written WSDLs of styles spyne does not write, and a strict SOAP responder for
them on loopback (http.server in a thread).

The responder checks what a real server of each style would: the envelope's version
against the Content-Type (and `SOAPAction` for 1.1), the body's element names and
namespaces, the header blocks. A request that does not fit answers a Client/Sender
fault saying why, so a test sees it in `fault_string`. `POST /soap` is the endpoint;
`/soap500` answers 500 without a fault, `/html200` a 200 that is not SOAP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
RPC_NS = "urn:test:rpc"
BARE_NS = "urn:test:bare"
TYPES_NS = "urn:test:types"
SHOP_NS = "urn:test:shop"  # tests/soap/wsdls.py

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions name="{name}" targetNamespace="{tns}" xmlns:tns="{tns}"
    xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"{extra}>"""


def rpc_literal(address: str) -> str:
    """rpc/literal: `Add(a: int, b: int) -> sum`, `Half(sum: int) -> half`, `Now()`; parts
    typed (not elements), the body's namespace `urn:test:rpc` (the parts' accessors
    unqualified, as WS-I says)."""
    return (
        _HEAD.format(name="Calc", tns=RPC_NS, extra="")
        + f"""
  <message name="AddRequest"><part name="a" type="xsd:int"/><part name="b" type="xsd:int"/>
  </message>
  <message name="AddResponse"><part name="sum" type="xsd:int"/></message>
  <message name="HalfRequest"><part name="sum" type="xsd:int"/></message>
  <message name="HalfResponse"><part name="half" type="xsd:decimal"/></message>
  <message name="NowRequest"/>
  <message name="NowResponse"><part name="now" type="xsd:dateTime"/></message>
  <portType name="CalcPortType">
    <operation name="Add"><input message="tns:AddRequest"/><output message="tns:AddResponse"/>
    </operation>
    <operation name="Half"><input message="tns:HalfRequest"/>
      <output message="tns:HalfResponse"/></operation>
    <operation name="Now"><input message="tns:NowRequest"/><output message="tns:NowResponse"/>
    </operation>
  </portType>
  <binding name="CalcBinding" type="tns:CalcPortType">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Add"><soap:operation soapAction="urn:Add"/>
      <input><soap:body use="literal" namespace="{RPC_NS}"/></input>
      <output><soap:body use="literal" namespace="{RPC_NS}"/></output></operation>
    <operation name="Half"><soap:operation soapAction="urn:Half"/>
      <input><soap:body use="literal" namespace="{RPC_NS}"/></input>
      <output><soap:body use="literal" namespace="{RPC_NS}"/></output></operation>
    <operation name="Now"><soap:operation soapAction="urn:Now"/>
      <input><soap:body use="literal" namespace="{RPC_NS}"/></input>
      <output><soap:body use="literal" namespace="{RPC_NS}"/></output></operation>
  </binding>
  <service name="Calc"><port name="CalcPort" binding="tns:CalcBinding">
    <soap:address location="{address}"/></port></service>
</definitions>"""
    )


def document_bare(address: str) -> str:
    """document/literal, not wrapped: `Order` has two parts (`OrderId`, `Quantity`,
    elements straight under soap:Body), `Price` one simple-typed element `Amount`."""
    return (
        _HEAD.format(name="Bare", tns=BARE_NS, extra="")
        + f"""
  <types><xsd:schema targetNamespace="{BARE_NS}" elementFormDefault="qualified">
    <xsd:element name="OrderId" type="xsd:string"/>
    <xsd:element name="Quantity" type="xsd:int"/>
    <xsd:element name="Confirmation" type="xsd:string"/>
    <xsd:element name="Amount" type="xsd:decimal"/>
    <xsd:element name="Total" type="xsd:decimal"/>
  </xsd:schema></types>
  <message name="OrderIn"><part name="id" element="tns:OrderId"/>
    <part name="qty" element="tns:Quantity"/></message>
  <message name="OrderOut"><part name="out" element="tns:Confirmation"/></message>
  <message name="PriceIn"><part name="amount" element="tns:Amount"/></message>
  <message name="PriceOut"><part name="total" element="tns:Total"/></message>
  <portType name="BarePortType">
    <operation name="Order"><input message="tns:OrderIn"/><output message="tns:OrderOut"/>
    </operation>
    <operation name="Price"><input message="tns:PriceIn"/><output message="tns:PriceOut"/>
    </operation>
  </portType>
  <binding name="BareBinding" type="tns:BarePortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Order"><soap:operation soapAction="urn:Order"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
    <operation name="Price"><soap:operation soapAction="urn:Price"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="Bare"><port name="BarePort" binding="tns:BareBinding">
    <soap:address location="{address}"/></port></service>
</definitions>"""
    )


def _lookup_wsdl(types: str, address: str) -> str:
    """`Lookup(types:LookupRequest) -> types:LookupResponse`, SOAP 1.1, with `types`
    as the WSDL's `<types>` content."""
    return (
        _HEAD.format(name="Lookup", tns=SHOP_NS, extra=f' xmlns:t="{TYPES_NS}"')
        + f"""
  <types>{types}</types>
  <message name="LookupIn"><part name="parameters" element="t:Lookup"/></message>
  <message name="LookupOut"><part name="parameters" element="t:LookupResponse"/></message>
  <portType name="LookupPortType">
    <operation name="Lookup"><input message="tns:LookupIn"/><output message="tns:LookupOut"/>
    </operation>
  </portType>
  <binding name="LookupBinding" type="tns:LookupPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Lookup"><soap:operation soapAction="urn:Lookup"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="Directory"><port name="LookupPort" binding="tns:LookupBinding">
    <soap:address location="{address}"/></port></service>
</definitions>"""
    )


def importing_relative(address: str, location: str = "types/lookup.xsd") -> str:
    """The `Lookup` operation's elements come from an XSD imported by relative location."""
    types = f"""
    <xsd:schema targetNamespace="{SHOP_NS}">
      <xsd:import namespace="{TYPES_NS}" schemaLocation="{location}"/>
    </xsd:schema>"""
    return _lookup_wsdl(types, address)


def including(address: str, location: str = "lookup-parts.xsd") -> str:
    """The `Lookup` elements are in the WSDL's own schema, which `xs:include`s their
    types (same target namespace) from a relative location."""
    types = f"""
    <xsd:schema targetNamespace="{TYPES_NS}" xmlns:t="{TYPES_NS}"
        elementFormDefault="qualified">
      <xsd:include schemaLocation="{location}"/>
      <xsd:element name="Lookup" type="t:LookupType"/>
      <xsd:element name="LookupResponse" type="t:LookupResponseType"/>
    </xsd:schema>"""
    return _lookup_wsdl(types, address)


def dotnet_style(address: str) -> str:
    """As WCF writes them: two inline schemas, one importing the other's namespace
    without a location, its types unqualified; an import of the XML Schema namespace
    itself; WS-Policy and WS-Addressing attributes zeep has no use for."""
    dc = "http://schemas.datacontract.org/2004/07/Svc"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Svc" targetNamespace="http://tempuri.org/"
 xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
 xmlns:tns="http://tempuri.org/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"
 xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy">
 <wsp:Policy><wsp:ExactlyOne/></wsp:Policy>
 <wsdl:types>
  <xsd:schema elementFormDefault="qualified" targetNamespace="http://tempuri.org/">
   <xsd:import namespace="{dc}"/>
   <xsd:import namespace="http://www.w3.org/2001/XMLSchema"
               schemaLocation="http://www.w3.org/2001/XMLSchema.xsd"/>
   <xsd:element name="GetData"><xsd:complexType><xsd:sequence>
     <xsd:element minOccurs="0" name="value" type="xsd:int"/>
     <xsd:element minOccurs="0" name="composite" nillable="true" type="q1:CompositeType"
                  xmlns:q1="{dc}"/>
   </xsd:sequence></xsd:complexType></xsd:element>
   <xsd:element name="GetDataResponse"><xsd:complexType><xsd:sequence>
     <xsd:element minOccurs="0" name="GetDataResult" nillable="true" type="xsd:string"/>
   </xsd:sequence></xsd:complexType></xsd:element>
  </xsd:schema>
  <xsd:schema elementFormDefault="unqualified" targetNamespace="{dc}" xmlns:dc="{dc}">
   <xsd:complexType name="CompositeType"><xsd:sequence>
     <xsd:element minOccurs="0" name="BoolValue" type="xsd:boolean"/>
     <xsd:element minOccurs="0" name="StringValue" nillable="true" type="xsd:string"/>
   </xsd:sequence></xsd:complexType>
   <xsd:element name="CompositeType" nillable="true" type="dc:CompositeType"/>
  </xsd:schema>
 </wsdl:types>
 <wsdl:message name="ISvc_GetData_InputMessage">
  <wsdl:part name="parameters" element="tns:GetData"/></wsdl:message>
 <wsdl:message name="ISvc_GetData_OutputMessage">
  <wsdl:part name="parameters" element="tns:GetDataResponse"/></wsdl:message>
 <wsdl:portType name="ISvc"><wsdl:operation name="GetData">
   <wsdl:input wsaw:Action="http://tempuri.org/ISvc/GetData"
               message="tns:ISvc_GetData_InputMessage"/>
   <wsdl:output wsaw:Action="http://tempuri.org/ISvc/GetDataResponse"
                message="tns:ISvc_GetData_OutputMessage"/>
 </wsdl:operation></wsdl:portType>
 <wsdl:binding name="BasicHttpBinding_ISvc" type="tns:ISvc">
  <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
  <wsdl:operation name="GetData">
   <soap:operation soapAction="http://tempuri.org/ISvc/GetData" style="document"/>
   <wsdl:input><soap:body use="literal"/></wsdl:input>
   <wsdl:output><soap:body use="literal"/></wsdl:output>
  </wsdl:operation>
 </wsdl:binding>
 <wsdl:service name="Svc"><wsdl:port name="BasicHttpBinding_ISvc"
   binding="tns:BasicHttpBinding_ISvc"><soap:address location="{address}"/></wsdl:port>
 </wsdl:service>
</wsdl:definitions>"""


# Served next to the WSDLs above: the imported XSD includes its types, relatively again.
LOOKUP_XSD = f"""<?xml version="1.0"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="{TYPES_NS}"
    xmlns:t="{TYPES_NS}" elementFormDefault="qualified">
  <xsd:include schemaLocation="lookup-parts.xsd"/>
  <xsd:element name="Lookup" type="t:LookupType"/>
  <xsd:element name="LookupResponse" type="t:LookupResponseType"/>
</xsd:schema>"""

LOOKUP_PARTS_XSD = f"""<?xml version="1.0"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="{TYPES_NS}"
    xmlns:t="{TYPES_NS}" elementFormDefault="qualified">
  <xsd:complexType name="LookupType"><xsd:sequence>
    <xsd:element name="key" type="xsd:string"/>
    <xsd:element name="limit" type="xsd:int" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="LookupResponseType"><xsd:sequence>
    <xsd:element name="value" type="xsd:string"/>
  </xsd:sequence></xsd:complexType>
</xsd:schema>"""


# -- the responder ------------------------------------------------------------------------


@dataclass
class Responder:
    """The responder's base URL; `received` keeps every envelope posted, in order."""

    base: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def url(self, path: str = "soap") -> str:
        return f"{self.base}/{path}"


class Refused(Exception):
    """The request does not fit: answered as a Client (1.1) or Sender (1.2) fault."""


def _children(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _fields(element: etree._Element, namespace: str | None) -> dict[str, str]:
    """`element`'s children by local name, each required to be in `namespace`."""
    out = {}
    for child in _children(element):
        qname = etree.QName(child)
        if qname.namespace != namespace:
            raise Refused(f"<{qname.localname}> is in {qname.namespace!r}, not {namespace!r}")
        out[qname.localname] = child.text or ""
    return out


def respond(version: str, body: etree._Element, header: etree._Element | None) -> str:
    """The answer's body content (XML text) for one request's soap:Body."""
    parts = _children(body)
    tags = [etree.QName(p).text for p in parts]
    if tags == [f"{{{RPC_NS}}}Add"]:
        values = _fields(parts[0], None)  # rpc/literal: the accessors are unqualified
        total = int(values["a"]) + int(values["b"])
        return f'<r:AddResponse xmlns:r="{RPC_NS}"><sum>{total}</sum></r:AddResponse>'
    if tags == [f"{{{RPC_NS}}}Half"]:
        half = int(_fields(parts[0], None)["sum"]) / 2
        return f'<r:HalfResponse xmlns:r="{RPC_NS}"><half>{half:g}</half></r:HalfResponse>'
    if tags == [f"{{{RPC_NS}}}Now"]:
        if _children(parts[0]):
            raise Refused("Now takes no parts")
        return f'<r:NowResponse xmlns:r="{RPC_NS}"><now>2024-01-02T03:04:05Z</now></r:NowResponse>'
    if tags == [f"{{{BARE_NS}}}OrderId", f"{{{BARE_NS}}}Quantity"]:
        text = f"{parts[0].text} x{int(parts[1].text or '')}"
        return f'<b:Confirmation xmlns:b="{BARE_NS}">{text}</b:Confirmation>'
    if tags == [f"{{{BARE_NS}}}Amount"]:
        total = float(parts[0].text or "") * 2
        return f'<b:Total xmlns:b="{BARE_NS}">{total:g}</b:Total>'
    if tags == [f"{{{TYPES_NS}}}Lookup"]:
        values = _fields(parts[0], TYPES_NS)
        value = f"{values['key']}:{values.get('limit', '-')}"
        return (
            f'<t:LookupResponse xmlns:t="{TYPES_NS}"><t:value>{value}</t:value></t:LookupResponse>'
        )
    if tags == [f"{{{SHOP_NS}}}Submit"]:
        values = _fields(parts[0], SHOP_NS)
        user = "-"
        if header is not None:
            auth = header.find(f"{{{SHOP_NS}}}AuthHeader")
            if auth is None:
                raise Refused("a header without AuthHeader")
            given = _fields(auth, SHOP_NS)
            if given.get("token") != "s3cret":
                raise Refused("bad token")
            user = given["user"]
        text = f"{values['order']}x{values['qty']} by {user} over {version}"
        return (
            f'<s:SubmitResponse xmlns:s="{SHOP_NS}"><s:result>{text}</s:result></s:SubmitResponse>'
        )
    raise Refused(f"unexpected body content {tags}")


def envelope(version: str, content: str) -> bytes:
    ns = SOAP11 if version == "1.1" else SOAP12
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{ns}">'
        f"<e:Body>{content}</e:Body></e:Envelope>"
    ).encode()


def fault(version: str, reason: str) -> bytes:
    if version == "1.1":
        content = (
            f"<e:Fault><faultcode>e:Client</faultcode><faultstring>{reason}</faultstring></e:Fault>"
        )
    else:
        content = (
            "<e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code>"
            f'<e:Reason><e:Text xml:lang="en">{reason}</e:Text></e:Reason></e:Fault>'
        )
    return envelope(version, content)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def handle(headers: dict[str, str], content: bytes) -> tuple[int, str, bytes]:
    """(status, content type, body) for one POST to /soap."""
    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    namespace = etree.QName(root).namespace
    version = {SOAP11: "1.1", SOAP12: "1.2"}.get(namespace or "")
    ctype = headers.get("content-type", "")
    if version is None:
        return 400, "text/plain", b"not a SOAP envelope"
    if version == "1.1" and (not ctype.startswith("text/xml") or "soapaction" not in headers):
        return 415, "text/plain", b"SOAP 1.1 is text/xml with a SOAPAction"
    if version == "1.2" and not ctype.startswith("application/soap+xml"):
        return 415, "text/plain", b"SOAP 1.2 is application/soap+xml"
    answer_type = "text/xml" if version == "1.1" else "application/soap+xml"
    header = root.find(f"{{{namespace}}}Header")
    body = root.find(f"{{{namespace}}}Body")
    try:
        if body is None:
            raise Refused("no Body")
        return 200, answer_type, envelope(version, respond(version, body, header))
    except (Refused, KeyError, ValueError) as e:
        return 500, answer_type, fault(version, _escape(f"{type(e).__name__}: {e}"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    responder: Responder

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        content = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.responder.received.append((headers, content))
        path = urlsplit(self.path).path
        if path == "/soap500":
            return self._send(500, "text/html", b"<html><body>Internal error</body></html>")
        if path == "/html200":
            return self._send(200, "text/html", b"<html><body>hello</body></html>")
        if path != "/soap":
            return self._send(404, "text/plain", b"no such endpoint")
        return self._send(*handle(headers, content))


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def serve() -> Iterator[Responder]:
    """The strict SOAP responder on loopback, until the generator is closed (a fixture's
    body: `yield from serve()`)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    served = Responder(base=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = type("Handler", (_Handler,), {"responder": served})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
