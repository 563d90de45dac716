"""WSDL import (SPEC §5): a WSDL, parsed by zeep, as one service entry per operation.

`import_wsdl` reads a WSDL from a URL or a document's text (`repository.wsdlcache`
parses it) and answers a `WsdlImport`: the entries and what a repository records about
the import (`WsdlImport.record()`). `entries_from` is the pure mapping from a parsed
WSDL to entries. Decisions where SPEC is silent:

- An entry's `target.wsdl` is the canonical URL of the WSDL, or of `base_url` for a
  document; a document imported without `base_url` is known as `urn:sha256:<digest>`
  (it can be used by name, not by `wsdl:URL#Op`, and cannot import relative files).
- `target.ports` lists every SOAP port of the service that offers the operation, so that
  `wsdl:URL#Service.Port.Op` can pick another one without a parse.
- A simple-typed child whose name is not an ident becomes a parameter with the ident
  form of its name and `"wire_name"` (as for http parameters); a repeatable one
  (`maxOccurs` above 1) is `{"type": ["array", "null"], "items": {...}}`. JSON types:
  XSD integers are `integer`, decimal/float/double `number`, boolean `boolean`, every
  other simple type `string`.
- An empty prefix is no prefix (each service's name).
- A document's text must be well-formed XML without a DOCTYPE, like any fetched one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from zeep.wsdl.bindings.soap import SoapOperation
from zeep.xsd import AnySimpleType, Element
from zeep.xsd.types import builtins

from igwcore.problems import InvalidEntry
from repository.entry import ServiceEntry, TargetCheck
from repository.fetch import FetchPolicy, WsdlUnavailable
from repository.import_record import ImportRecord
from repository.names import ident, ident_name, unique
from repository.wsdlcache import (
    SoapPort,
    Wsdl,
    WsdlCache,
    child_elements,
    document_bytes,
    document_text,
    load_wsdl,
)
from repository.xsdfacets import Facets, facets_of

__all__ = ["WsdlImport", "entries_from", "ident", "ident_name", "import_wsdl", "unique"]

INPUT = ("application/xml", "application/json")
OUTPUT = "application/xml"


# -- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WsdlImport:
    """The result of an import: the entries, and what a repository records about it."""

    url: str  # what the entries' target.wsdl says (canonical URL, base URL or urn)
    source: str | None  # the URL that was fetched; None for a document
    base_url: str | None
    document: str | None  # a document import's text (for a refresh, and a cold cache)
    prefix: str | None  # as given
    version: str
    entries: tuple[ServiceEntry, ...]
    source_text: str = ""  # the WSDL's own text, fetched or given

    def record(self, id: str | None = None) -> ImportRecord:
        """The repository's record of this import (`id`: the import it refreshes)."""
        record = ImportRecord(
            kind="wsdl",
            document=self.document if self.document is not None else self.source_text,
            url=self.source,
            base_url=self.base_url,
            prefix=self.prefix,
            version=self.version,
        )
        return dataclasses.replace(record, id=id) if id is not None else record


async def import_wsdl(
    *,
    url: str | None = None,
    document: str | bytes | None = None,
    base_url: str | None = None,
    prefix: str | None = None,
    version: str = "1.0.0",
    connection: str | None = None,
    policy: FetchPolicy,
    check_target: TargetCheck,
    cache: WsdlCache | None = None,
    reserved: Collection[str] = (),
) -> WsdlImport:
    """Read a WSDL (from `url`, or `document` with `base_url` for its relative imports)
    into one entry per operation. Always parses afresh (an import or a refresh), and puts
    the parse into `cache`. Names in `reserved` (other services') are not used: a name
    that would be one gets `_2`, `_3`... Raises 422 InvalidEntry when the WSDL cannot be
    fetched or parsed, or has no SOAP 1.1/1.2 port.
    """
    if (url is None) == (document is None):
        raise InvalidEntry(
            "an import takes either a url or a document",
            errors=[{"field": "url", "reason": "give url or document, not both or neither"}],
        )
    text = document_bytes(document) if isinstance(document, str) else document
    try:
        if text is not None:
            wsdl = await asyncio.to_thread(
                load_wsdl, document=text, base_url=base_url, policy=policy
            )
        else:
            wsdl = await asyncio.to_thread(load_wsdl, url=url, policy=policy)
    except WsdlUnavailable as e:
        field = "url" if url is not None else "document"
        raise InvalidEntry(
            f"the WSDL cannot be read: {e.reason}", errors=[{"field": field, "reason": e.reason}]
        ) from e
    entries = entries_from(
        wsdl,
        prefix=prefix,
        version=version,
        connection=connection,
        reserved=reserved,
        check_target=check_target,
    )
    if cache is not None:
        if text is not None:
            cache.remember(wsdl.url, text)
        cache.put(wsdl)
    return WsdlImport(
        url=wsdl.url,
        source=wsdl.url if url is not None else None,
        base_url=base_url,
        document=document_text(text) if text is not None else None,
        prefix=prefix,
        version=version,
        entries=tuple(entries),
        source_text=document_text(wsdl.source),
    )


def entries_from(
    wsdl: Wsdl,
    *,
    prefix: str | None = None,
    version: str = "1.0.0",
    connection: str | None = None,
    reserved: Collection[str] = (),
    check_target: TargetCheck,
) -> list[ServiceEntry]:
    """One entry per operation of each service (SPEC §5), in document order; a name in
    `reserved` or made before gets `_2`, `_3`... (`check_target`: the kinds' check)."""
    if not wsdl.ports:
        raise InvalidEntry(
            "the WSDL has no SOAP 1.1 or 1.2 port",
            errors=[{"field": "document", "reason": "no SOAP 1.1 or 1.2 port"}],
        )
    entries: list[ServiceEntry] = []
    taken: set[str] = set(reserved)
    facets = facets_of(wsdl.source)
    for service, operations in _operations_by_service(wsdl).items():
        stem = ident_name(prefix or service)
        for operation, ports in operations.items():
            port = next((p for p in ports if p.soap_version == "1.1"), ports[0])
            _, op = wsdl.operation(service, port.name, operation)
            target: dict[str, Any] = {
                "wsdl": wsdl.url,
                "service": service,
                "port": port.name,
                "operation": operation,
                "ports": [p.name for p in ports],
            }
            if connection is not None:
                target["connection"] = connection
            data = {
                "name": unique(f"{stem}.{ident_name(operation)}", taken),
                "version": version,
                "description": f"SOAP {port.soap_version} operation {service}.{port.name}."
                f"{operation} of {wsdl.url}",
                "kind": "soap",
                "params": input_params(op, facets),
                "input": list(INPUT),
                # A one-way operation answers nothing (SPEC §3; issue 12): its stage
                # outputs `none` and may only stand last.
                "output": OUTPUT if op.output is not None else "none",
                "target": target,
            }
            entries.append(ServiceEntry.from_json(data, check_target=check_target))
    return entries


def _operations_by_service(wsdl: Wsdl) -> dict[str, dict[str, list[SoapPort]]]:
    """service -> operation -> the SOAP ports offering it, all in document order."""
    found: dict[str, dict[str, list[SoapPort]]] = {}
    for port in wsdl.ports:
        operations = found.setdefault(port.service, {})
        for name in port.binding.all():
            operations.setdefault(name, []).append(port)
    return found


# -- names and parameters -----------------------------------------------------------------


def json_type(xsd_type: Any) -> str:
    """The JSON Schema type of an XSD simple type's values."""
    if isinstance(xsd_type, builtins.Boolean):
        return "boolean"
    if isinstance(xsd_type, builtins.Integer):
        return "integer"
    if isinstance(xsd_type, builtins.Decimal | builtins.Float | builtins.Double):
        return "number"
    return "string"


def input_params(
    operation: SoapOperation, facets: Facets | None = None
) -> dict[str, dict[str, Any]]:
    """The simple-typed children of the input body element, as parameters (SPEC §5), with
    their XSD facets as JSON Schema (`repository.xsdfacets`)."""
    body = operation.input.body if operation.input is not None else None
    if body is None:
        return {}
    params: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for child in child_elements(body.type):
        if not isinstance(child, Element) or not isinstance(child.type, AnySimpleType):
            continue
        wire = child.qname.localname if child.qname is not None else child.name
        name = unique(ident(wire), taken)
        jtype = json_type(child.type)
        words = facets.schema(child.type.qname, wire, jtype) if facets is not None else {}
        if child.max_occurs != 1:
            item = {"type": jtype, **words}
            if "enum" in item:  # an item is given: null is the list's own "not given"
                item["enum"] = [v for v in item["enum"] if v is not None]
            schema: dict[str, Any] = {"type": ["array", "null"], "items": item}
        else:
            schema = {"type": [jtype, "null"], **words}
        schema["default"] = None
        if name != wire:
            schema["wire_name"] = wire
        params[name] = schema
    return params
