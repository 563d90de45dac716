"""SOAP peers of other shapes than the example's, built on spyne and served on loopback
in a thread (wsgiref, one thread a request):

- `/shop` (SOAP 1.1) and `/shop12` (SOAP 1.2): the `Shop` service with several
  operations over integers, booleans, dates, nested complex types and arrays, one whose
  answer's children are the next one's parameters, and one that faults with a detail.
- `/two`: one application of two services (`Left`, `Right`) that both offer `echo`
  (spyne writes one `<service>` a class, each on the same binding).

Each serves its WSDL at `?wsdl`. spyne 2.14 imports on Python 3.11 only (it is a test
dependency there alone): elsewhere whatever imports this module skips, saying so.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

pytest.importorskip(
    "spyne", reason="spyne, the foreign SOAP peer, imports on Python 3.11 only (spyne.util.six)"
)

from spyne import (
    Application,
    Array,
    Boolean,
    ComplexModel,
    Date,
    Fault,
    Integer,
    ServiceBase,
    Unicode,
    rpc,
)
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

SHOP_TNS = "urn:test:spyne:shop"
TWO_TNS = "urn:test:spyne:two"


class Address(ComplexModel):
    __namespace__ = SHOP_TNS
    street = Unicode
    city = Unicode


class Person(ComplexModel):
    __namespace__ = SHOP_TNS
    name = Unicode
    born = Date
    address = Address
    tags = Array(Unicode)


def _shop(name: str) -> type[ServiceBase]:
    """The Shop service (one class a protocol: spyne binds a class to one application)."""

    class Shop(ServiceBase):
        @rpc(Integer, Integer, _returns=Integer)
        def add(ctx, a, b):
            return (a or 0) + (b or 0)

        @rpc(Integer, Boolean, _returns=Boolean)
        def is_adult(ctx, age, strict):
            return age >= (21 if strict else 18)

        @rpc(Date, Date, _returns=Integer)
        def days_between(ctx, start, end):
            return (end - start).days

        @rpc(Array(Integer), _returns=Integer)
        def total(ctx, values):
            return sum(values or [])

        @rpc(Person, _returns=Unicode)
        def describe(ctx, person):
            tags = ",".join(person.tags or [])
            return f"{person.name}/{person.born.isoformat()}/{person.address.city}/{tags}"

        @rpc(Integer, _returns=Array(Person))
        def people(ctx, count):
            return [
                Person(
                    name=f"p{i}",
                    born=datetime.date(2000, 1, i + 1),
                    address=Address(street="Main", city="Brno"),
                    tags=["a", "b"],
                )
                for i in range(count or 0)
            ]

        @rpc(
            Unicode,
            _returns=(Unicode, Unicode),
            _out_variable_names=("first", "last"),
        )
        def split_name(ctx, full):
            first, _, last = (full or "").partition(" ")
            return first, last

        @rpc(Unicode, Unicode, _returns=Unicode)
        def greet(ctx, first, last):
            return f"Hello {first} {last}!"

        @rpc(Unicode, _returns=Unicode)
        def refuse(ctx, reason):
            # spyne's SOAP 1.2 writes a detail given as a dict only.
            detail = {"why": {"code": "E42"}}
            raise Fault(faultcode="Client.Refused", faultstring=reason or "no", detail=detail)

        @rpc(_returns=Unicode)
        def crash(ctx):
            raise ValueError("an internal error of the peer")

    Shop.__name__ = name
    return Shop


class Left(ServiceBase):
    @rpc(Unicode, _returns=Unicode)
    def echo(ctx, text):
        return f"left:{text}"


class Right(ServiceBase):
    @rpc(Unicode, _returns=Unicode)
    def other(ctx, text):
        return f"right:{text}"


def _app(
    services: list[type[ServiceBase]], tns: str, name: str, soap: type = Soap11
) -> WsgiApplication:
    return WsgiApplication(
        Application(
            services, tns=tns, name=name, in_protocol=soap(validator="lxml"), out_protocol=soap()
        )
    )


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def application() -> WsgiApp:
    apps = {
        "/shop12": _app([_shop("Shop")], SHOP_TNS, "ShopService", Soap12),
        "/shop": _app([_shop("Shop")], SHOP_TNS, "ShopService"),
        "/two": _app([Left, Right], TWO_TNS, "TwoServices"),
    }

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        app = apps.get(path)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such service\n"]
        return app(environ, start_response)

    return dispatch


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve() -> Iterator[str]:
    """The base URL of the spyne peers (a thread on loopback), until the generator is
    closed (a fixture's body: `yield from serve()`)."""
    logging.getLogger("spyne").setLevel(logging.CRITICAL)
    server = make_server("127.0.0.1", 0, application(), server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
