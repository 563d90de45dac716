"""Parsed WSDLs: zeep's parse under the fetch rules, and the cache the gateway shares.

`load_wsdl` parses a WSDL from a URL or a document's text, every fetch (nested imports
and redirects too) held to a `FetchPolicy` by `repository.fetch.GuardedTransport`; it
blocks, so callers run it in a worker thread. `WsdlCache` (one a gateway, in
`DeployEnv.shared`: `wsdl_cache(env.shared)`) keeps parses by canonical URL, so that an
import, a `wsdl:URL#Op` resolution and every soap stage deployed from them share one
parse; it also keeps the texts of document imports, which have no URL to fetch them
from. zeep reads documents with DTDs and entities forbidden, and no port's address is
rewritten (`force_https` off).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from zeep.settings import Settings
from zeep.wsdl import Document
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding, SoapBinding, SoapOperation
from zeep.xsd import ComplexType, Element
from zeep.xsd.elements.any import Any as XsdAny
from zeep.xsd.elements.indicators import Group, OrderIndicator

from igwcore.urls import canonical_url
from repository import xmlsafe
from repository.fetch import FetchPolicy, GuardedTransport, NotAWsdl, WsdlUnavailable
from repository.import_record import ImportRecord

__all__ = [
    "SoapPort",
    "Wsdl",
    "WsdlCache",
    "child_elements",
    "document_bytes",
    "document_text",
    "document_urn",
    "load_wsdl",
    "remember_imports",
    "wsdl_cache",
]

_ENCODING_DECLARATION = re.compile(r"""(^\s*<\?xml[^>]*?\bencoding\s*=\s*["'])[^"']*(["'])""")
SHARED_KEY = "soap"  # DeployEnv.shared key of the WsdlCache
CACHED_WSDLS = 256
SETTINGS = Settings(
    strict=True,
    forbid_dtd=True,
    forbid_entities=True,
    xml_huge_tree=False,
    force_https=False,  # a port's address is what the WSDL says
)


@dataclass(frozen=True)
class SoapPort:
    service: str
    name: str
    soap_version: str  # "1.1" or "1.2"
    address: str
    binding: SoapBinding


class Wsdl:
    """A parsed WSDL: its SOAP ports (in document order) and their operations."""

    def __init__(
        self, url: str, document: Document, source: bytes = b"", fetched: Sequence[str] = ()
    ) -> None:
        self.url = url
        self.document = document
        self.source = source  # the WSDL's own text (not its imports)
        self.fetched = tuple(fetched)  # every URL fetched for it, redirects included
        self.ports: tuple[SoapPort, ...] = tuple(_soap_ports(document))

    @property
    def schema(self) -> Any:
        return self.document.types

    def port(self, service: str, port: str) -> SoapPort:
        for p in self.ports:
            if p.service == service and p.name == port:
                return p
        raise LookupError(f"the WSDL has no SOAP port {service}.{port}")

    def operation(self, service: str, port: str, operation: str) -> tuple[SoapPort, SoapOperation]:
        found = self.port(service, port)
        op = found.binding.all().get(operation)
        if op is None:
            raise LookupError(f"port {service}.{port} has no operation {operation!r}")
        return found, op


def _soap_ports(document: Document) -> Iterator[SoapPort]:
    for service in document.services.values():
        for port in service.ports.values():
            binding = port.binding
            if isinstance(binding, Soap11Binding | Soap12Binding):
                yield SoapPort(
                    service=service.name,
                    name=port.name,
                    soap_version="1.2" if isinstance(binding, Soap12Binding) else "1.1",
                    address=str(port.binding_options.get("address", "")),
                    binding=binding,
                )


def load_wsdl(
    *,
    url: str | None = None,
    document: bytes | None = None,
    base_url: str | None = None,
    policy: FetchPolicy,
    known: str | None = None,
) -> Wsdl:
    """Parse a WSDL from `url`, or from `document` with relative imports against
    `base_url`; every fetch held to `policy`. Blocking: call it in a worker thread.

    It is known by `known` (else the canonical URL or base URL). Raises
    WsdlUnavailable (FetchRefused for a URL the policy refuses).
    """
    transport = GuardedTransport(policy)
    try:
        if document is not None:
            try:
                xmlsafe.parse(document)
            except xmlsafe.XmlRefused as e:
                raise NotAWsdl(e.reason) from e
            base = canonical_url(base_url) if base_url else None
            parsed = _parse(io.BytesIO(document), transport, base)
            name = known or base or document_urn(document)
            source = document
        else:
            if not url:
                raise WsdlUnavailable("neither a URL nor a document")
            name = known or canonical_url(url)
            policy.check(name)
            parsed = _parse(name, transport, None)
            source = transport.loaded.get(name, b"")
    finally:
        transport.close()
    return Wsdl(name, parsed, source, transport.fetched)


def _parse(location: Any, transport: GuardedTransport, base: str | None) -> Document:
    try:
        return Document(location, transport, base=base, settings=SETTINGS)
    except WsdlUnavailable:
        raise
    except Exception as e:
        # zeep reports a bad WSDL with many exception types (its own, lxml's, KeyError,
        # AttributeError...): at this boundary each is "not a usable WSDL".
        raise NotAWsdl(f"not a usable WSDL: {type(e).__name__}: {e}") from e


def document_bytes(text: str) -> bytes:
    """A document given as text (a JSON string) as UTF-8 bytes, its XML declaration saying
    so: a text declared `ISO-8859-1`, say, was already decoded by whoever gave it."""
    return _ENCODING_DECLARATION.sub(r"\g<1>UTF-8\g<2>", text, count=1).encode()


def document_text(document: bytes) -> str:
    """A fetched document as text (for an import record), decoded as it declares."""
    try:
        encoding = xmlsafe.parse(document).getroottree().docinfo.encoding or "utf-8"
        return document.decode(encoding, errors="replace")
    except (xmlsafe.XmlRefused, LookupError):
        return document.decode("utf-8", errors="replace")


def document_urn(document: bytes) -> str:
    """How a document imported without a base URL is known."""
    return "urn:sha256:" + hashlib.sha256(document).hexdigest()


# -- the cache shared by imports, resolution and stages -----------------------------------


class WsdlCache:
    """Parsed WSDLs by canonical URL, and the texts of documents imported without a URL
    of their own. One a gateway: `wsdl_cache(env.shared)`. Loads are single-flight."""

    def __init__(self, size: int = CACHED_WSDLS) -> None:
        self._parsed: LRUCache[str, Wsdl] = LRUCache(maxsize=size)
        self._documents: dict[str, bytes] = {}
        self._loading: dict[str, asyncio.Future[Wsdl]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def remember(self, url: str, document: bytes | str) -> None:
        """The text of a document import, known by `url` (its base URL or its urn)."""
        self._documents[url] = document_bytes(document) if isinstance(document, str) else document

    def document(self, url: str) -> bytes | None:
        return self._documents.get(url)

    def get(self, url: str) -> Wsdl | None:
        return self._parsed.get(url)

    def put(self, wsdl: Wsdl) -> None:
        self._parsed[wsdl.url] = wsdl

    def forget(self, url: str, *, document: bool = False) -> None:
        """Drop a parse (a re-import or refresh replaces it), and the remembered text too
        with `document=True`."""
        self._parsed.pop(url, None)
        if document:
            self._documents.pop(url, None)

    def lock(self, url: str) -> asyncio.Lock:
        """A lock for check-then-import of one URL (`assembler.contract.ensure_imported`)."""
        return self._locks.setdefault(url, asyncio.Lock())

    async def load(self, url: str, policy: FetchPolicy) -> Wsdl:
        """The parsed WSDL known by `url`: cached, else parsed from a remembered document,
        else fetched under `policy`. Concurrent loads of one URL share one parse; a failure
        is not kept."""
        cached = self._parsed.get(url)
        if cached is not None:
            return cached
        pending = self._loading.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Wsdl] = asyncio.get_running_loop().create_future()
        self._loading[url] = future
        try:
            document = self._documents.get(url)
            if document is None and url.startswith("urn:"):
                raise WsdlUnavailable(f"the document imported as {url} is not loaded: re-import it")
            if document is not None:
                base = None if url.startswith("urn:") else url
                wsdl = await asyncio.to_thread(
                    load_wsdl, document=document, base_url=base, policy=policy, known=url
                )
            else:
                wsdl = await asyncio.to_thread(load_wsdl, url=url, policy=policy)
            self._parsed[url] = wsdl
            future.set_result(wsdl)
            return wsdl
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._loading[url]


def remember_imports(cache: WsdlCache, records: Iterable[ImportRecord]) -> int:
    """Give the cache back the texts imports were made from (at start, from the repository's
    import records), so that their stages deploy without fetching the WSDL again — a URL
    import's host may be down at a restart; answer how many. (Documents a URL import's
    WSDL imports in turn are fetched when first needed.)"""
    count = 0
    for record in records:
        if record.kind != "wsdl" or not record.document:
            continue
        text = document_bytes(record.document)
        if record.url is not None:
            url = canonical_url(record.url)
        else:
            url = canonical_url(record.base_url) if record.base_url else document_urn(text)
        cache.remember(url, text)
        count += 1
    return count


def wsdl_cache(shared: dict[str, Any]) -> WsdlCache:
    """The gateway's WsdlCache, kept in `DeployEnv.shared`."""
    cache = shared.get(SHARED_KEY)
    if cache is None:
        cache = shared[SHARED_KEY] = WsdlCache()
    return cache


# -- XML Schema ---------------------------------------------------------------------------


def child_elements(xsd_type: Any) -> Iterator[Element | XsdAny]:
    """The elements (and `xsd:any` wildcards) a complex type's content may hold, in
    schema order, through sequences, choices, alls and groups."""
    if not isinstance(xsd_type, ComplexType):
        return
    yield from _particles(xsd_type._element)


def _particles(particle: Any) -> Iterator[Element | XsdAny]:
    if particle is None:
        return
    if isinstance(particle, Element | XsdAny):
        yield particle
    elif isinstance(particle, Group):
        yield from _particles(particle.child)
    elif isinstance(particle, OrderIndicator):
        for item in particle:
            yield from _particles(item)
