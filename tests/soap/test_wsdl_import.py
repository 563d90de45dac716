"""WSDL import (SPEC §5): one entry per operation, names, parameters, and the fetch rules."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from igwcore.problems import InvalidEntry
from igwcore.urls import canonical_url
from repository.entry import ServiceEntry
from repository.fetch import FetchPolicy, GuardedTransport, WsdlUnavailable
from repository.wsdl import ident_name, unique
from repository.wsdl import import_wsdl as import_checked_by
from repository.wsdlcache import WsdlCache, document_urn, load_wsdl
from tests.entries import check_target
from tests.soap import wsdls
from tests.soap.conftest import CORPUS, Files

# Imports as the gateway makes them, with the kinds checking each entry's target.
import_wsdl = functools.partial(import_checked_by, check_target=check_target)
ANY_HOST = FetchPolicy(hosts=None, max_bytes=5_242_880, timeout_s=10)
NO_HOST = FetchPolicy(hosts=frozenset(), max_bytes=5_242_880, timeout_s=10)
NOWHERE = "http://127.0.0.1:9/nowhere"
HELLO_OPS = [
    "sayHi",
    "greetMe",
    "greetMeSometime",
    "greetMeOneWay",
    "testDocLitFault",
    "testDocLitBare",
]


def by_name(entries: Any) -> dict[str, ServiceEntry]:
    return {e.name: e for e in entries}


# -- the corpus ----------------------------------------------------------------------------


async def test_soap_wsdl_by_url_makes_one_entry_per_operation(files: Files) -> None:
    url = files.url("corpus/soap.wsdl")
    result = await import_wsdl(url=url, policy=ANY_HOST)
    assert [e.name for e in result.entries] == [
        "StockQuoteService.GetLastTradePrice",
        "StockQuoteService.GetLastTradePriceNoOutput",
    ]
    entry = result.entries[0]
    assert entry.id == "StockQuoteService.GetLastTradePrice@1.0.0"
    assert entry.kind == "soap"
    assert entry.params == {"tickerSymbol": {"type": ["string", "null"], "default": None}}
    assert entry.input == ("application/xml", "application/json")
    assert entry.output == "application/xml"
    assert dict(entry.target) == {
        "wsdl": url,
        "service": "StockQuoteService",
        "port": "StockQuotePort",
        "operation": "GetLastTradePrice",
        "ports": ["StockQuotePort"],
    }
    assert result.url == url and result.source == url and result.document is None
    assert "StockQuoteService" in result.source_text
    record = result.record()
    assert (record.kind, record.url, record.version) == ("wsdl", url, "1.0.0")
    assert "StockQuoteService" in record.document


async def test_entries_pass_service_entry_validation(files: Files) -> None:
    result = await import_wsdl(
        check_target=check_target, url=files.url("corpus/soap.wsdl"), policy=ANY_HOST
    )
    for entry in result.entries:
        assert ServiceEntry.from_json(entry.to_json(), check_target=check_target) == entry


async def test_soap_wsdl_document_with_prefix_and_version() -> None:
    text = (CORPUS / "soap.wsdl").read_text()
    result = await import_wsdl(
        check_target=check_target, document=text, prefix="kit.stock", version="2.1", policy=NO_HOST
    )
    entries = by_name(result.entries)
    assert set(entries) == {"kit.stock.GetLastTradePrice", "kit.stock.GetLastTradePriceNoOutput"}
    assert entries["kit.stock.GetLastTradePrice"].id == "kit.stock.GetLastTradePrice@2.1"
    # Known by a digest of its text: it has no URL of its own.
    assert result.url == document_urn(text.encode())
    assert entries["kit.stock.GetLastTradePrice"].target["wsdl"] == result.url
    assert result.record().url is None and result.record().document == text


async def test_recursive_wsdl_by_url_follows_its_relative_import(files: Files) -> None:
    before = files.asked("hello_world_recursive_import.wsdl")
    result = await import_wsdl(
        check_target=check_target,
        url=files.url("corpus/hello_world_recursive.wsdl"),
        policy=ANY_HOST,
    )
    assert files.asked("hello_world_recursive_import.wsdl") == before + 1
    entries = by_name(result.entries)
    assert list(entries) == [f"SOAPService.{op}" for op in HELLO_OPS]
    string_param = {"type": ["string", "null"], "default": None}
    assert entries["SOAPService.greetMe"].params == {"requestType": string_param}
    assert entries["SOAPService.greetMeOneWay"].params == {"requestType": string_param}
    assert entries["SOAPService.testDocLitFault"].params == {"faultType": string_param}
    assert entries["SOAPService.sayHi"].params == {}
    # A bare simple-typed body element has no children: no parameters.
    assert entries["SOAPService.testDocLitBare"].params == {}
    assert {e.target["port"] for e in result.entries} == {"SoapPort"}


async def test_recursive_wsdl_document_resolves_imports_against_base_url(files: Files) -> None:
    text = (CORPUS / "hello_world_recursive.wsdl").read_text()
    base = files.url("corpus/hello_world_recursive.wsdl").replace("http://", "HTTP://")
    result = await import_wsdl(
        check_target=check_target, document=text, base_url=base, policy=ANY_HOST
    )
    assert [e.name for e in result.entries] == [f"SOAPService.{op}" for op in HELLO_OPS]
    assert result.url == canonical_url(base)
    assert all(e.target["wsdl"] == canonical_url(base) for e in result.entries)
    assert result.source is None and result.base_url == base and result.document == text


async def test_document_with_relative_import_needs_base_url() -> None:
    text = (CORPUS / "hello_world_recursive.wsdl").read_text()
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(document=text, policy=ANY_HOST)
    assert caught.value.status == 422
    assert "base URL" in caught.value.members["errors"][0]["reason"]


# -- names and parameters ----------------------------------------------------------------------


def test_ident_rules_of_spec_section_5() -> None:
    assert ident_name("Služba.get-item") == "Slu_ba.get-item"
    assert ident_name("2024.orders") == "_2024.orders"
    assert ident_name("-x") == "_x"
    taken: set[str] = set()
    assert [unique(n, taken) for n in ("a.b", "a.b", "a.b", "a.b_2")] == [
        "a.b",
        "a.b_2",
        "a.b_3",
        "a.b_2_2",
    ]


async def test_names_that_collide_get_numbered_in_document_order() -> None:
    result = await import_wsdl(
        check_target=check_target, document=wsdls.odd_names(NOWHERE), policy=NO_HOST
    )
    assert [e.name for e in result.entries] == ["Slu_ba.get_", "Slu_ba.get__2", "Slu_ba.v._2"]
    assert [e.target["operation"] for e in result.entries] == ["getÄ", "get_", "v.2"]


async def test_reserved_names_are_not_reused() -> None:
    result = await import_wsdl(
        check_target=check_target,
        document=wsdls.stock(NOWHERE),
        policy=NO_HOST,
        reserved={"StockQuoteService.GetLastTradePrice"},
    )
    assert result.entries[0].name == "StockQuoteService.GetLastTradePrice_2"


async def test_one_prefix_for_two_services_numbers_the_second() -> None:
    result = await import_wsdl(
        check_target=check_target, document=wsdls.multi_port(NOWHERE), prefix="p", policy=NO_HOST
    )
    assert [e.name for e in result.entries] == ["p.Echo", "p.Ping", "p.Echo_2"]
    assert result.entries[2].target["service"] == "Mirror"


async def test_simple_children_become_typed_nullable_parameters() -> None:
    result = await import_wsdl(
        check_target=check_target, document=wsdls.typed(NOWHERE), policy=NO_HOST
    )
    params = result.entries[0].params

    def nullable(t: str) -> dict[str, Any]:
        return {"type": [t, "null"], "default": None}

    assert params == {
        "count": nullable("integer"),
        "big": nullable("integer"),
        "price": nullable("number"),
        "ratio": nullable("number"),
        "rush": nullable("boolean"),
        "when": nullable("string"),
        "level": {**nullable("integer"), "minimum": 1},  # its XSD facet
        "tag": {"type": ["array", "null"], "items": {"type": "string"}, "default": None},
        "ship_to": {**nullable("string"), "wire_name": "ship.to"},
    }  # `address` is complex: not a parameter


async def test_operation_on_several_ports_uses_the_soap_11_port() -> None:
    result = await import_wsdl(
        check_target=check_target, document=wsdls.multi_port(NOWHERE), policy=NO_HOST
    )
    entries = by_name(result.entries)
    assert entries["Shop.Echo"].target["port"] == "Shop11Port"
    assert entries["Shop.Echo"].target["ports"] == ["Shop12Port", "Shop11Port"]
    # Only on the SOAP 1.2 port: the first SOAP port offering it.
    assert entries["Shop.Ping"].target["port"] == "Shop12Port"
    assert entries["Mirror.Echo"].target["port"] == "MirrorPort"


async def test_wsdl_without_soap_port_is_invalid() -> None:
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(
            check_target=check_target, document=wsdls.http_only(NOWHERE), policy=NO_HOST
        )
    assert caught.value.status == 422
    assert "no SOAP 1.1 or 1.2 port" in caught.value.detail


async def test_document_text_with_another_declared_encoding() -> None:
    text = wsdls.stock(NOWHERE).replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>'
    )
    text = text.replace("My first service", "Můj první")
    assert len((await import_wsdl(document=text, policy=NO_HOST)).entries) == 2


async def test_unparseable_or_refused_document_is_invalid() -> None:
    for text in ("not xml", '<!DOCTYPE d [<!ENTITY e "x">]><definitions/>', "<a>&e;</a>"):
        with pytest.raises(InvalidEntry):
            await import_wsdl(document=text, policy=NO_HOST)


# -- fetch rules -------------------------------------------------------------------------------


async def test_file_url_is_refused() -> None:
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(
            check_target=check_target, url=(CORPUS / "soap.wsdl").as_uri(), policy=ANY_HOST
        )
    assert "only http and https" in caught.value.detail


async def test_nested_file_import_is_refused(files: Files) -> None:
    url = files.add("file-import.wsdl", wsdls.importing((CORPUS / "soap.wsdl").as_uri()))
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(url=url, policy=ANY_HOST)
    assert "only http and https" in caught.value.detail
    with pytest.raises(InvalidEntry):
        await import_wsdl(
            check_target=check_target, document=wsdls.importing("/etc/passwd"), policy=ANY_HOST
        )


async def test_host_not_allowed_is_refused_before_any_request(files: Files) -> None:
    policy = FetchPolicy(hosts=frozenset({"127.0.0.1"}), max_bytes=5_242_880, timeout_s=10)
    before = len(files.requests)
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(
            check_target=check_target,
            url=files.url("corpus/soap.wsdl", host="localhost"),
            policy=policy,
        )
    assert "'localhost' is not in [assembler] fetch_wsdl_hosts" in caught.value.detail
    assert len(files.requests) == before


def test_urls_that_could_hide_their_host_are_refused() -> None:
    policy = FetchPolicy(hosts=frozenset({"127.0.0.1"}), max_bytes=1000, timeout_s=1)
    for url in (
        "http://evil.example\\@127.0.0.1/x.wsdl",
        "http://127.0.0.1@evil.example/x.wsdl",
        "http://user@127.0.0.1/x.wsdl",
        "http://127.0.0.1:80:81/x.wsdl",
    ):
        with pytest.raises(WsdlUnavailable):
            policy.check(url)
    policy.check("http://127.0.0.1:8080/x.wsdl")  # the port does not matter


async def test_nested_import_from_host_not_allowed_is_refused(files: Files) -> None:
    policy = FetchPolicy(hosts=frozenset({"127.0.0.1"}), max_bytes=5_242_880, timeout_s=10)
    other = files.add("other.xsd", wsdls.OTHER_XSD).replace("127.0.0.1", "localhost")
    url = files.add("import-elsewhere.wsdl", wsdls.importing(other))
    before = files.asked("other.xsd")
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(url=url, policy=policy)
    assert "localhost" in caught.value.detail
    assert files.asked("other.xsd") == before
    # The same import on an allowed host loads.
    allowed = files.add("import-here.wsdl", wsdls.importing(files.url("files/other.xsd")))
    assert (await import_wsdl(url=allowed, policy=policy)).entries


async def test_redirect_to_host_not_allowed_is_refused(files: Files) -> None:
    policy = FetchPolicy(hosts=frozenset({"127.0.0.1"}), max_bytes=5_242_880, timeout_s=10)
    target = files.url("files/redirect-target.wsdl", host="localhost")
    files.add("redirect-target.wsdl", wsdls.stock(NOWHERE))
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(
            check_target=check_target, url=files.url(f"redirect?to={target}"), policy=policy
        )
    assert "'localhost' is not in" in caught.value.detail
    assert files.asked("redirect-target.wsdl") == 0
    # Redirects within the rule are followed.
    inside = files.url(f"redirect?to={files.url('files/redirect-target.wsdl')}")
    assert len((await import_wsdl(url=inside, policy=policy)).entries) == 2


async def test_redirect_to_file_url_is_refused(files: Files) -> None:
    target = (CORPUS / "soap.wsdl").as_uri()
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(
            check_target=check_target, url=files.url(f"redirect?to={target}"), policy=ANY_HOST
        )
    assert "only http and https" in caught.value.detail


async def test_fetch_max_bytes_is_enforced(files: Files) -> None:
    size = len((CORPUS / "soap.wsdl").read_bytes())
    small = FetchPolicy(hosts=None, max_bytes=size - 1, timeout_s=10)
    for path in ("corpus/soap.wsdl", "chunked"):  # with and without Content-Length
        with pytest.raises(InvalidEntry) as caught:
            await import_wsdl(url=files.url(path), policy=small)
        assert "over fetch_max_bytes" in caught.value.detail
    exact = FetchPolicy(hosts=None, max_bytes=size, timeout_s=10)
    assert (await import_wsdl(url=files.url("chunked"), policy=exact)).entries


async def test_fetch_timeout_is_enforced(files: Files) -> None:
    quick = FetchPolicy(hosts=None, max_bytes=5_242_880, timeout_s=0.3)
    with pytest.raises(InvalidEntry) as caught:
        await import_wsdl(url=files.url("slow?s=1"), policy=quick)
    assert "not fetched within" in caught.value.detail


async def test_well_known_schemas_load_without_network() -> None:
    # No host is allowed: the SOAP encoding, SOAP 1.2 envelope and xml.xsd come from
    # repository/schemas/.
    wsdl = load_wsdl(document=wsdls.well_known(NOWHERE).encode(), policy=NO_HOST)
    assert wsdl.fetched == ()
    assert [p.name for p in wsdl.ports] == ["ShopPort"]


def test_transport_serves_well_known_urls_and_refuses_the_rest() -> None:
    transport = GuardedTransport(NO_HOST)
    assert b"soap/encoding" in transport.load("https://schemas.xmlsoap.org/soap/encoding")
    assert b"XML/1998" in transport.load("http://www.w3.org/2001/xml.xsd")
    for url in ("file:///etc/passwd", "/etc/passwd", "ftp://example.com/x.wsdl"):
        with pytest.raises(WsdlUnavailable):
            transport.load(url)
    with pytest.raises(WsdlUnavailable):
        transport.load("http://example.com/x.wsdl")  # not an allowed host
    assert transport.fetched == []


# -- the cache ---------------------------------------------------------------------------------


async def test_cache_shares_one_parse_among_concurrent_loads(files: Files) -> None:
    import asyncio

    url = files.add("shared.wsdl", wsdls.stock(NOWHERE))
    cache = WsdlCache()
    before = files.asked("shared.wsdl")
    loaded = await asyncio.gather(*(cache.load(url, ANY_HOST) for _ in range(5)))
    assert all(c is loaded[0] for c in loaded)
    assert await cache.load(url, ANY_HOST) is loaded[0]
    assert files.asked("shared.wsdl") == before + 1


async def test_cache_loads_a_remembered_document_without_fetching() -> None:
    text = wsdls.stock(NOWHERE)
    cache = WsdlCache()
    result = await import_wsdl(
        check_target=check_target, document=text, policy=NO_HOST, cache=cache
    )
    fresh = WsdlCache()
    fresh.remember(result.url, text)
    wsdl = await fresh.load(result.url, NO_HOST)
    assert [p.name for p in wsdl.ports] == ["StockQuotePort"]
    with pytest.raises(WsdlUnavailable):
        await WsdlCache().load(result.url, NO_HOST)  # a urn nobody gave back
