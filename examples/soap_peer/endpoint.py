"""A POST to a service's endpoint, answered: the envelope read, its operation's element
checked against the WSDL's schema, the operation called, its answer or fault written.

A plain function of the body's bytes to (HTTP status, answer's bytes); faults are 500,
as SOAP 1.1's HTTP binding says and spyne answered for both versions.
"""

from __future__ import annotations

from functools import cache

from lxml import etree

from examples.soap_peer import envelope, wsdl
from examples.soap_peer.service import Fault, Service

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


@cache
def _schema(service: Service) -> etree.XMLSchema:
    return wsdl.schema(service)


def _value(request: etree._Element, tns: str, parameter: str) -> str | None:
    member = request.find(f"{{{tns}}}{parameter}")
    if member is None or member.get(XSI_NIL) in ("true", "1"):
        return None
    return member.text or ""


def respond(service: Service, data: bytes) -> tuple[int, bytes]:
    """The status and body of the answer to `data`, a SOAP request to `service`."""
    version = service.soap_version
    try:
        request = envelope.body_element(data, version)
        schema = _schema(service)
        if not schema.validate(request):
            raise Fault("Client", schema.error_log.last_error.message, "SchemaValidationError")
        operation = service.operation(etree.QName(request).localname)
        result = operation.call(_value(request, service.tns, operation.parameter))
    except Fault as error:
        return 500, envelope.fault(version, error)
    body = envelope.answer(version, service.tns, operation.response, operation.result, result)
    return 200, body
