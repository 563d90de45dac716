"""A SOAP peer for the patent's chain: a formatter (`XMLCheck`) and a customer (`order`).

Built on spyne, served by wsgiref in threads. `python -m examples.soap_peer --port 8090`
serves the formatter at `/formatter` (and over SOAP 1.2 at `/formatter12`) and the
customer at `/customer`, each with its WSDL at `?wsdl`. The customer's `order` takes
`XMLCheckResult`, the child of XMLCheck's response, so one operation's answer feeds the
next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from spyne import Application, Fault, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

FORMATTER_TNS = "urn:integration-gateway:example:formatter"
CUSTOMER_TNS = "urn:integration-gateway:example:customer"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def check(document: str | None) -> str:
    """XMLCheck's rule: an empty document or `FAIL` is refused with a Client fault."""
    if not document or document == "FAIL":
        raise Fault(faultcode="Client", faultstring="document refused")
    return "OK:" + document.upper()


# spyne names the WSDL's operations and parts after these methods and their arguments.
class Formatter(ServiceBase):
    @rpc(Unicode, _returns=Unicode)
    def XMLCheck(ctx, document):
        return check(document)


class Formatter12(ServiceBase):
    """The formatter again, over SOAP 1.2 (at /formatter12)."""

    @rpc(Unicode, _returns=Unicode)
    def XMLCheck(ctx, document):
        return check(document)


class Customer(ServiceBase):
    @rpc(Unicode, _returns=Unicode)
    def order(ctx, XMLCheckResult):
        return "ORDER-ACCEPTED:" + (XMLCheckResult or "")


def _soap_app(
    service: type[ServiceBase], tns: str, name: str, soap: type = Soap11
) -> WsgiApplication:
    return WsgiApplication(
        Application(
            [service], tns=tns, name=name, in_protocol=soap(validator="lxml"), out_protocol=soap()
        )
    )


def application() -> WsgiApp:
    """The WSGI app: /formatter, /formatter12 and /customer, anything else 404."""
    apps = {
        "/formatter12": _soap_app(Formatter12, FORMATTER_TNS, "Formatter12Service", Soap12),
        "/formatter": _soap_app(Formatter, FORMATTER_TNS, "FormatterService"),
        "/customer": _soap_app(Customer, CUSTOMER_TNS, "CustomerService"),
    }

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, app in apps.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such service\n"]

    return dispatch


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default backlog is 5: sixteen clients connecting at once (a
    # benchmark, a burst) found connections reset. wsgiref answers one request a
    # connection, so every call connects anew.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def make(host: str = "127.0.0.1", port: int = 0) -> WSGIServer:
    """A server bound to (host, port); port 0 picks a free one (see `server_address`)."""
    logging.getLogger("spyne").setLevel(logging.CRITICAL)
    return make_server(
        host, port, application(), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )


def start(host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, int]:
    """Serve in a daemon thread (for in-process use); returns the server and its port."""
    server = make(host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]
