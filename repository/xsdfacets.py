"""XSD facets as JSON Schema (issue 12): zeep reads a WSDL's types but keeps none of their
restrictions, so the WSDL's own text is read once more for them (with the hardened
parser), and a simple-typed parameter gets its `enum`, `pattern`, lengths and bounds —
checked before the call, like any parameter.

Facets are found on named simple types (`tns:Color`, following one `restriction
base` to another named type of the same document) and on an element's own anonymous
simple type (by the element's name). Types in schemas the WSDL imports from other
documents are not read. An XSD pattern is anchored (`^...$`) and used only when Python
can compile it; a facet that does not fit the parameter's JSON type is left out.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from repository import xmlsafe

__all__ = ["Facets", "facets_of"]

XSD = "http://www.w3.org/2001/XMLSchema"
NUMERIC = {"minInclusive": "minimum", "maxInclusive": "maximum",
           "minExclusive": "exclusiveMinimum", "maxExclusive": "exclusiveMaximum"}  # fmt: skip
LENGTHS = {"minLength": "minLength", "maxLength": "maxLength"}


class Facets:
    """Facets of a WSDL's simple types: by type QName (`{ns}name`) and by element name."""

    def __init__(self) -> None:
        self.by_type: dict[str, list[etree._Element]] = {}
        self.by_element: dict[str, list[etree._Element]] = {}

    def schema(self, type_qname: str | None, element: str, json_type: str) -> dict[str, Any]:
        """The JSON Schema words for a parameter of that type (or that element's own)."""
        facets = self.by_type.get(type_qname or "") or self.by_element.get(element) or []
        return _words(facets, json_type)


def facets_of(source: bytes) -> Facets:
    found = Facets()
    if not source:
        return found
    try:
        root = xmlsafe.parse(source)
    except xmlsafe.XmlRefused:
        return found
    restrictions: dict[str, etree._Element] = {}
    for schema in root.iter(f"{{{XSD}}}schema"):
        ns = schema.get("targetNamespace", "")
        for simple in schema.iter(f"{{{XSD}}}simpleType"):
            restriction = simple.find(f"{{{XSD}}}restriction")
            if restriction is None:
                continue
            name = simple.get("name")
            if name is not None:
                restrictions[f"{{{ns}}}{name}"] = restriction
            else:
                parent = simple.getparent()
                if parent is not None and parent.tag == f"{{{XSD}}}element" and parent.get("name"):
                    found.by_element.setdefault(parent.get("name", ""), []).extend(
                        _own(restriction)
                    )
    for qname, restriction in restrictions.items():
        facets = _own(restriction)
        base = _qname(restriction, restriction.get("base", ""))
        if base in restrictions and base != qname:
            facets = [*_own(restrictions[base]), *facets]
        found.by_type[qname] = facets
    return found


def _own(restriction: etree._Element) -> list[etree._Element]:
    return [c for c in restriction if isinstance(c.tag, str) and c.tag.startswith(f"{{{XSD}}}")]


def _qname(node: etree._Element, prefixed: str) -> str:
    prefix, _, local = prefixed.rpartition(":")
    return f"{{{node.nsmap.get(prefix or None, '')}}}{local}"


def _words(facets: list[etree._Element], json_type: str) -> dict[str, Any]:
    words: dict[str, Any] = {}
    enum: list[Any] = []
    for facet in facets:
        kind = etree.QName(facet).localname
        value = facet.get("value")
        if value is None:
            continue
        if kind == "enumeration":
            typed = _typed(value, json_type)
            if typed is not None:
                enum.append(typed)
        elif kind == "pattern" and json_type == "string":
            try:
                re.compile(f"^(?:{value})$")
            except re.error:
                continue
            words["pattern"] = f"^(?:{value})$"
        elif kind == "length" and json_type == "string" and value.isdigit():
            words["minLength"] = words["maxLength"] = int(value)
        elif kind in LENGTHS and json_type == "string" and value.isdigit():
            words[LENGTHS[kind]] = int(value)
        elif kind in NUMERIC and json_type in ("integer", "number"):
            number = _typed(value, "number")
            if number is not None:
                words[NUMERIC[kind]] = number
    if enum:
        words["enum"] = [*enum, None]  # null: not given, as every WSDL parameter may be
    return words


def _typed(value: str, json_type: str) -> Any:
    try:
        if json_type == "integer":
            return int(value)
        if json_type == "number":
            number = float(value)
            return int(number) if number.is_integer() else number
        if json_type == "boolean":
            return {"true": True, "1": True, "false": False, "0": False}.get(value)
    except ValueError:
        return None
    return value
