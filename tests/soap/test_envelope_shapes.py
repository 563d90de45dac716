"""Envelopes and answers of shapes beyond the example's, as plain functions: operations
without parameters, document/literal bare parts, SOAP 1.2 fault subcodes."""

from __future__ import annotations

import pytest
from lxml import etree

from appserver.kinds import soap_envelope as soapenv
from appserver.kinds.soap_answer import answer
from igwcore.message import Message
from igwcore.problems import StageError
from repository.fetch import FetchPolicy
from repository.wsdlcache import load_wsdl
from tests.soap import handmade

POLICY = FetchPolicy(hosts=frozenset(), max_bytes=1 << 20, timeout_s=5)
ADDRESS = "http://127.0.0.1:9/soap"


def operation(wsdl_text: str, service: str, port: str, name: str, **args) -> soapenv.Operation:
    wsdl = load_wsdl(document=wsdl_text.encode(), policy=POLICY)
    soap_port, op = wsdl.operation(service, port, name)
    params = {k: {} for k in args}
    return soapenv.Operation(
        body=op.input.body,
        body_wrapped=bool(op.input._is_body_wrapped),
        schema=wsdl.schema,
        settings=wsdl.document.settings,
        soap_version=soap_port.soap_version,
        overrides=soapenv.overrides_for(params, args),
    )


def body_of(envelope: bytes) -> list[etree._Element]:
    return list(etree.fromstring(envelope).find(f"{{{handmade.SOAP11}}}Body"))


@pytest.mark.parametrize(
    "message",
    [
        Message(b"", "application/json"),
        Message(b"  \n", "application/xml"),
        Message(b"{}", "application/json"),
        Message(b"<Now/>", "application/xml"),
    ],
)
def test_operation_without_parameters_writes_its_empty_element(message) -> None:
    op = operation(handmade.rpc_literal(ADDRESS), "Calc", "CalcPort", "Now")
    (now,) = body_of(soapenv.envelope(op, message))
    assert now.tag == f"{{{handmade.RPC_NS}}}Now" and len(now) == 0


def test_an_empty_payload_takes_every_parameter_from_the_arguments() -> None:
    op = operation(handmade.rpc_literal(ADDRESS), "Calc", "CalcPort", "Add", a=1, b=2)
    (add,) = body_of(soapenv.envelope(op, Message(b"", "application/json")))
    assert [(c.tag, c.text) for c in add] == [("a", "1"), ("b", "2")]


@pytest.mark.parametrize(
    "message",
    [
        Message(b"<Amount>2.5</Amount>", "application/xml"),
        Message(b'<b:Amount xmlns:b="urn:elsewhere">2.5</b:Amount>', "application/xml"),
        Message(b"<TotalResponse><Amount>2.5</Amount></TotalResponse>", "application/xml"),
        Message(b'{"Amount": 2.5}', "application/json"),
    ],
)
def test_a_bare_simple_part_is_the_root_or_its_child(message) -> None:
    op = operation(handmade.document_bare(ADDRESS), "Bare", "BarePort", "Price")
    (amount,) = body_of(soapenv.envelope(op, message))
    assert (amount.tag, amount.text) == (f"{{{handmade.BARE_NS}}}Amount", "2.5")


def test_bare_parts_go_straight_under_the_body_in_schema_order() -> None:
    op = operation(handmade.document_bare(ADDRESS), "Bare", "BarePort", "Order", Quantity=4)
    message = Message(b"<x><Quantity>1</Quantity><OrderId>A</OrderId></x>", "application/xml")
    parts = body_of(soapenv.envelope(op, message))
    ns = handmade.BARE_NS
    assert [(p.tag, p.text) for p in parts] == [
        (f"{{{ns}}}OrderId", "A"),
        (f"{{{ns}}}Quantity", "4"),
    ]


def _fault12(code: str) -> bytes:
    return handmade.envelope(
        "1.2",
        f'<e:Fault xmlns:app="urn:app"><e:Code>{code}</e:Code>'
        '<e:Reason><e:Text xml:lang="en">no</e:Text></e:Reason></e:Fault>',
    ).replace(b"<e:Envelope ", b'<e:Envelope xmlns:app="urn:app" ')


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("<e:Value>e:Sender</e:Value>", "Sender"),
        (
            "<e:Value>e:Sender</e:Value><e:Subcode><e:Value>Refused</e:Value></e:Subcode>",
            "Sender.Refused",
        ),
        (
            "<e:Value>e:Receiver</e:Value><e:Subcode><e:Value>app:Busy</e:Value>"
            "<e:Subcode><e:Value>app:Retry</e:Value></e:Subcode></e:Subcode>",
            "Receiver.app:Busy.app:Retry",
        ),
    ],
)
def test_soap12_subcodes_join_the_fault_code(code: str, expected: str) -> None:
    with pytest.raises(StageError) as caught:
        answer(500, _fault12(code))
    assert caught.value.extra == {"fault_code": expected, "fault_string": "no"}
