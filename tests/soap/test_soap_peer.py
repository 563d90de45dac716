"""The example SOAP peer (examples/soap_peer): its answers as plain functions, and as a
process of its own."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from examples.soap_peer import FORMATTER_TNS, SERVICES
from examples.soap_peer.endpoint import respond
from examples.soap_peer.envelope import ENVELOPE
from tests.processes import free_port, stop
from tests.soap.conftest import start_peer


def request(version: str, body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{ENVELOPE[version]}"><s:Body>{body}</s:Body></s:Envelope>'.encode()
    )


def xmlcheck(document: str) -> str:
    return f'<f:XMLCheck xmlns:f="{FORMATTER_TNS}"><f:document>{document}</f:document></f:XMLCheck>'


def fault_of(version: str, answer: bytes) -> tuple[str, str]:
    """(code, string) of a fault answer, the code without its prefix."""
    root = etree.fromstring(answer)
    env = ENVELOPE[version]
    if version == "1.1":
        node = root.find(f"{{{env}}}Body/{{{env}}}Fault")
        return node.findtext("faultcode").split(":")[1], node.findtext("faultstring")
    code = root.findtext(f".//{{{env}}}Code/{{{env}}}Value").split(":")[1]
    return code, root.findtext(f".//{{{env}}}Reason/{{{env}}}Text")


@pytest.mark.parametrize(("path", "version"), [("/formatter", "1.1"), ("/formatter12", "1.2")])
def test_xmlcheck_answers_in_the_endpoints_soap_version(path: str, version: str) -> None:
    status, answer = respond(SERVICES[path], request(version, xmlcheck("hi")))
    assert status == 200
    body = etree.fromstring(answer).find(f"{{{ENVELOPE[version]}}}Body")
    assert body[0].tag == f"{{{FORMATTER_TNS}}}XMLCheckResponse"
    assert body[0].findtext(f"{{{FORMATTER_TNS}}}XMLCheckResult") == "OK:HI"
    assert body[0].prefix == "tns"  # spyne's, which the README's answers show


@pytest.mark.parametrize(
    ("path", "version", "code"),
    [("/formatter", "1.1", "Client"), ("/formatter12", "1.2", "Sender")],
)
def test_a_refused_document_is_a_fault_of_the_versions_code(path, version, code) -> None:
    status, answer = respond(SERVICES[path], request(version, xmlcheck("FAIL")))
    assert status == 500
    assert fault_of(version, answer) == (code, "document refused")


def test_the_customer_takes_what_xmlcheck_answers() -> None:
    tns = SERVICES["/customer"].tns
    order = f'<c:order xmlns:c="{tns}"><c:XMLCheckResult>OK:HI</c:XMLCheckResult></c:order>'
    status, answer = respond(SERVICES["/customer"], request("1.1", order))
    assert status == 200
    assert etree.fromstring(answer).findtext(f".//{{{tns}}}orderResult") == "ORDER-ACCEPTED:OK:HI"


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        (
            request("1.1", "<XMLCheck><document>x</document></XMLCheck>"),
            "Client.SchemaValidationError",
            "XMLCheck",
        ),
        (
            request("1.1", f'<f:Nope xmlns:f="{FORMATTER_TNS}"/>'),
            "Client.SchemaValidationError",
            "Nope",
        ),
        (request("1.1", ""), "Client.SoapError", "one element"),
        (request("1.2", xmlcheck("x")), "VersionMismatch", "SOAP 1.1"),
        (b"<a/>", "Client.SoapError", "not a SOAP Envelope"),
        (b"<oops", "Client.XMLSyntaxError", "oops"),
        (b"", "Client.XMLSyntaxError", "empty"),
    ],
)
def test_what_is_not_a_request_of_the_wsdl_is_a_client_fault(body: bytes, code: str, says: str):
    status, answer = respond(SERVICES["/formatter"], body)
    assert status == 500
    node = etree.fromstring(answer).find(f".//{{{ENVELOPE['1.1']}}}Fault")
    assert node.findtext("faultcode") == f"soap11env:{code}"
    assert says in node.findtext("faultstring")


def test_a_request_with_a_dtd_is_refused_unread() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + request(
        "1.1", xmlcheck("&x;")
    )
    status, answer = respond(SERVICES["/formatter"], evil)
    assert status == 500 and b"root:" not in answer and b"must not contain a DTD" in answer


def test_peer_serves_its_wsdls(soap_peer: str) -> None:
    for path in ("/formatter", "/formatter12", "/customer"):
        r = httpx.get(f"{soap_peer}{path}?wsdl")
        assert r.status_code == 200 and b"definitions" in r.content, path
        assert f'location="{soap_peer}{path}"'.encode() in r.content
    assert httpx.get(f"{soap_peer}/nothing").status_code == 404


def test_peer_answers_soap_over_http_and_refuses_a_get(soap_peer: str) -> None:
    r = httpx.post(
        f"{soap_peer}/formatter",
        content=request("1.1", xmlcheck("kit")),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"XMLCheck"'},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "text/xml; charset=utf-8"
    assert b"OK:KIT" in r.content
    r = httpx.get(f"{soap_peer}/formatter12")
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/soap+xml")
    assert fault_of("1.2", r.content)[0] == "Sender"


def test_the_wsdls_address_is_the_one_the_caller_reached(soap_peer: str) -> None:
    r = httpx.get(f"{soap_peer}/customer?wsdl", headers={"Host": "peer.example:8090"})
    assert b'location="http://peer.example:8090/customer"' in r.content


def test_peer_stops_cleanly_on_sigterm() -> None:
    proc = start_peer(free_port())
    assert stop(proc) == 0
    assert proc.stderr is not None and proc.stderr.read() == b""
