"""A SOAP peer for the patent's chain: a formatter (`XMLCheck`) and a customer (`order`).

`python -m examples.soap_peer --port 8090` serves the formatter at `/formatter` (and over
SOAP 1.2 at `/formatter12`) and the customer at `/customer`, each with its WSDL at
`?wsdl`. The customer's `order` takes `XMLCheckResult`, the child of XMLCheck's response,
so one operation's answer feeds the next.

Written with aiohttp and lxml alone, so that the demo runs on every Python the gateway
supports (spyne, which wrote it first, stops at 3.11); spyne's WSDLs and answers are
kept, names and prefixes alike. Each module here is plain functions but this one: the
services (`service.py`), their WSDLs (`wsdl.py`), envelopes (`envelope.py`), a request
answered (`endpoint.py`).
"""

from __future__ import annotations

from aiohttp import web

from examples.soap_peer import endpoint, envelope, wsdl
from examples.soap_peer.service import Fault, Operation, Service

FORMATTER_TNS = "urn:integration-gateway:example:formatter"
CUSTOMER_TNS = "urn:integration-gateway:example:customer"


def check(document: str | None) -> str:
    """XMLCheck's rule: an empty document or `FAIL` is refused with a Client fault."""
    if not document or document == "FAIL":
        raise Fault("Client", "document refused")
    return "OK:" + document.upper()


def order(checked: str | None) -> str:
    return "ORDER-ACCEPTED:" + (checked or "")


XMLCHECK = Operation("XMLCheck", "document", check)
SERVICES = {
    "/formatter": Service("Formatter", FORMATTER_TNS, (XMLCHECK,)),
    "/formatter12": Service("Formatter12", FORMATTER_TNS, (XMLCHECK,), soap_version="1.2"),
    "/customer": Service("Customer", CUSTOMER_TNS, (Operation("order", "XMLCheckResult", order),)),
}


def _soap(service: Service, status: int, body: bytes) -> web.Response:
    ctype = envelope.CONTENT_TYPE[service.soap_version]
    return web.Response(status=status, body=body, content_type=ctype, charset="utf-8")


def _handler(service: Service) -> web.RequestHandler:
    async def handle(request: web.Request) -> web.Response:
        if request.method == "GET" and any(k.lower() == "wsdl" for k in request.query):
            # The address is the one the caller reached: through a proxy, the proxy's
            # upstream (its Host), as spyne wrote it.
            address = f"{request.scheme}://{request.host}{request.path}"
            return _soap(service, 200, wsdl.document(service, address))
        if request.method != "POST":
            refused = Fault(
                "Client", "POST a SOAP envelope here, or GET ?wsdl", "RequestNotAllowed"
            )
            return _soap(service, 405, envelope.fault(service.soap_version, refused))
        return _soap(service, *endpoint.respond(service, await request.read()))

    return handle


def application() -> web.Application:
    """The peer: each of SERVICES at its path, anything else 404."""
    app = web.Application()
    for path, service in SERVICES.items():
        app.router.add_route("*", path, _handler(service))
    return app
