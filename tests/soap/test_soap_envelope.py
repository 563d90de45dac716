"""The mapping between a stage's message and a SOAP envelope, without a network."""

from __future__ import annotations

import pytest
from lxml import etree

from appserver.kinds import soap_envelope as soapenv
from igwcore.message import Message
from igwcore.problems import StageError
from repository.fetch import FetchPolicy
from repository.wsdlcache import Wsdl, load_wsdl
from tests.soap import wsdls

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "http://example.com/stockquote.xsd"


def stock() -> Wsdl:
    policy = FetchPolicy(hosts=frozenset(), max_bytes=1 << 20, timeout_s=5)
    return load_wsdl(document=wsdls.stock("http://peer/x").encode(), policy=policy)


def operation(wsdl: Wsdl, **overrides: tuple[str, ...]) -> soapenv.Operation:
    _, op = wsdl.operation("StockQuoteService", "StockQuotePort", "GetLastTradePrice")
    return soapenv.Operation(
        body=op.input.body,
        body_wrapped=False,
        schema=wsdl.schema,
        settings=wsdl.document.settings,
        soap_version="1.1",
        overrides=tuple(overrides.items()),
    )


def body_of(envelope: bytes) -> etree._Element:
    return etree.fromstring(envelope).find(f"{{{SOAP11}}}Body")[0]


def test_namespaces_left_out_are_written_as_the_wsdl_says() -> None:
    xml = b"<TradePriceRequest><tickerSymbol>ABC</tickerSymbol></TradePriceRequest>"
    body = body_of(soapenv.envelope(operation(stock()), Message(xml, "application/xml")))
    assert body.tag == f"{{{NS}}}TradePriceRequest"
    assert body[0].tag == "tickerSymbol" and body[0].text == "ABC"


def test_wrong_namespaces_are_matched_by_local_name() -> None:
    xml = b'<x:Whatever xmlns:x="urn:other"><x:tickerSymbol>ABC</x:tickerSymbol></x:Whatever>'
    body = body_of(soapenv.envelope(operation(stock()), Message(xml, "application/xml")))
    assert [c.tag for c in body] == ["tickerSymbol"]


def test_overrides_replace_payload_elements() -> None:
    xml = b"<r><tickerSymbol>OLD</tickerSymbol></r>"
    op = operation(stock(), tickerSymbol=("NEW",))
    body = body_of(soapenv.envelope(op, Message(xml, "application/xml")))
    assert body.findtext("tickerSymbol") == "NEW"


def test_arguments_as_texts() -> None:
    params = {"n": {}, "flag": {}, "tags": {}, "ship_to": {"wire_name": "ship.to"}, "gone": {}}
    args = {"n": 3, "flag": False, "tags": ["a", "b"], "ship_to": "x", "gone": None}
    assert soapenv.overrides_for(params, args) == (
        ("n", ("3",)),
        ("flag", ("false",)),
        ("tags", ("a", "b")),
        ("ship.to", ("x",)),
    )


def test_answer_is_the_body_first_child_alone() -> None:
    answer = (
        f'<s:Envelope xmlns:s="{SOAP11}" xmlns:t="urn:t" xmlns:unused="urn:u"><s:Header/>'
        "<s:Body><t:Result><t:v>1</t:v></t:Result><t:Extra/></s:Body></s:Envelope>"
    ).encode()
    out = soapenv.answer(200, answer)
    assert out == Message(b'<t:Result xmlns:t="urn:t"><t:v>1</t:v></t:Result>', "application/xml")


def test_empty_answers_are_empty_messages() -> None:
    assert soapenv.answer(202, b"") == Message(b"", "application/xml")
    empty_body = f'<s:Envelope xmlns:s="{SOAP12}"><s:Body/></s:Envelope>'.encode()
    assert soapenv.answer(200, empty_body).body == b""


@pytest.mark.parametrize(
    ("fault", "code", "string"),
    [
        (
            f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
            "<faultstring>boom</faultstring></s:Fault></s:Body></s:Envelope>",
            "Server",
            "boom",
        ),
        (
            f'<s:Envelope xmlns:s="{SOAP11}" xmlns:m="urn:m"><s:Body><s:Fault>'
            "<faultcode>m:OutOfStock</faultcode><faultstring>none left</faultstring>"
            "<detail><m:sku>1</m:sku></detail></s:Fault></s:Body></s:Envelope>",
            "m:OutOfStock",
            "none left",
        ),
        (
            f'<e:Envelope xmlns:e="{SOAP12}"><e:Body><e:Fault><e:Code><e:Value>e:Receiver'
            '</e:Value></e:Code><e:Reason><e:Text xml:lang="en">down</e:Text></e:Reason>'
            "</e:Fault></e:Body></e:Envelope>",
            "Receiver",
            "down",
        ),
    ],
)
def test_faults_carry_code_and_string_whatever_the_status(
    fault: str, code: str, string: str
) -> None:
    for status in (500, 200, 400):
        with pytest.raises(StageError) as caught:
            soapenv.answer(status, fault.encode())
        assert not caught.value.rejected
        assert caught.value.extra == {"fault_code": code, "fault_string": string}


def test_http_errors_without_fault() -> None:
    with pytest.raises(StageError) as caught:
        soapenv.answer(404, b"no such service")
    assert caught.value.rejected and "404" in caught.value.reason
    with pytest.raises(StageError) as caught:
        soapenv.answer(500, b"<html>down</html>")
    assert not caught.value.rejected
    with pytest.raises(StageError) as caught:
        soapenv.answer(302, b"")
    assert not caught.value.rejected and "redirect" in caught.value.reason


def test_answer_that_is_not_an_envelope_fails() -> None:
    for content in (b"<html/>", b"not xml", b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'):
        with pytest.raises(StageError) as caught:
            soapenv.answer(200, content)
        assert not caught.value.rejected
