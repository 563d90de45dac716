"""A soap stage's message as a SOAP envelope, and the answer back as a message (SPEC §3).

Plain functions over a parsed operation; no sockets. The input mapping:

- XML: the payload's root is the operation's input element, or any other element whose
  children are the input's parameters (so one operation's response feeds the next). JSON:
  an object of the parameters (`{"Op": {...}}`, the input element's name around them,
  is taken off too); a `null` member is a parameter not given. An empty payload, of any
  type, gives no parameters. An input element of a simple type (a document/literal bare
  part) is the payload's root of that name, or the root's child of that name
  (`{"Amount": 2}`).
- Elements are matched by local name at every depth and written in the WSDL's
  namespaces (qualified or not, as the schema says), in the schema's order whatever the
  payload's order. An element the schema does not expect is refused (422), unless an
  `xsd:any` takes it, which gets it as it came. Attributes are matched by local name;
  others are dropped. An element with `xsi:type` is passed on as it came.
- Each simple value must parse as its XSD type (an `int` that is `x12` is refused here,
  not by the peer); then zeep reads the body and writes it again, which checks that
  required elements are there and writes values in their canonical form.
- Descriptor arguments replace the payload's elements of the same name.

The answer back is `soap_answer`'s (`answer` is re-exported here).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from zeep import exceptions as zeep_exceptions
from zeep.xsd import AnySimpleType, ComplexType, Element
from zeep.xsd.context import XmlParserContext
from zeep.xsd.elements.any import Any as XsdAny
from zeep.xsd.types import builtins

from appserver.kinds.base import argument_text
from appserver.kinds.soap_answer import ENVELOPE_NS as ENVELOPE_NS
from appserver.kinds.soap_answer import answer as answer
from appserver.kinds.soap_answer import local
from igwcore import mediatype
from igwcore.message import Message
from repository import xmlsafe
from repository.jsonxml import JsonXmlError, json_to_xml
from repository.wsdlcache import child_elements

XSI = "http://www.w3.org/2001/XMLSchema-instance"
WRAPPER = "parameters"  # the element a JSON payload's members are written under
_NAMES_SHOWN = 8


class PayloadError(ValueError):
    """The payload does not fit the operation's input (422 /stage-rejected)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Operation:
    """What writing one operation's request needs, fixed at deploy."""

    body: Element | None  # the input body element (None: an input without parts)
    body_wrapped: bool  # zeep's multi-part document body: the element *is* soap:Body
    schema: Any  # zeep Schema
    settings: Any  # zeep Settings
    soap_version: str
    header: bytes = b""  # serialized header blocks (from the connection), or empty
    overrides: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    @property
    def envelope_ns(self) -> str:
        return ENVELOPE_NS[self.soap_version]

    @property
    def input_name(self) -> str:
        return local(self.body.qname) if self.body is not None else ""


def argument_texts(value: Any) -> tuple[str, ...]:
    """A descriptor argument as element texts (a list is repeated elements)."""
    values = value if isinstance(value, list) else [value]
    return tuple(argument_text(v) for v in values if v is not None)


# -- request ------------------------------------------------------------------------------


def envelope(operation: Operation, message: Message) -> bytes:
    """The SOAP envelope for `message`; PayloadError when it does not fit."""
    envelope_ns = operation.envelope_ns
    root = etree.Element(f"{{{envelope_ns}}}Envelope", nsmap={"soap-env": envelope_ns})
    body_tag = f"{{{envelope_ns}}}Body"
    if operation.header:
        root.append(etree.fromstring(operation.header, xmlsafe.parser()))
    body = operation.body
    if body is None:
        etree.SubElement(root, body_tag)
    else:
        source = payload_tree(message, operation.input_name)
        if not isinstance(body.type, ComplexType):
            source = simple_part(source, operation.input_name)
        for name, texts in operation.overrides:
            override(source, name, texts)
        conformed = conform(source, body, local(body.qname))
        try:
            value = body.parse(
                conformed, operation.schema, context=XmlParserContext(operation.settings)
            )
            parent = root if operation.body_wrapped else etree.SubElement(root, body_tag)
            if value is None and len(conformed) == 0 and not conformed.attrib:
                # zeep reads an element without content (an operation without
                # parameters, or none given) as no value, then refuses to write none.
                parent.append(conformed)
            else:
                body.render(parent, value)
        except (zeep_exceptions.Error, ValueError, TypeError) as e:
            raise PayloadError(f"the payload does not fit the operation's input: {e}") from e
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def payload_tree(message: Message, input_name: str) -> etree._Element:
    """The payload as an element whose children are the parameters; an empty payload
    (of any type) gives none (an operation without parameters, or all from arguments)."""
    if not message.body.strip():
        return etree.Element(WRAPPER)
    if mediatype.is_json(message.media_type):
        try:
            value = json.loads(message.body)
        except (ValueError, RecursionError) as e:
            raise PayloadError(f"the JSON payload is not well-formed: {e}") from e
        if not isinstance(value, dict):
            raise PayloadError("a JSON payload is an object of the operation's parameters")
        if len(value) == 1 and isinstance(value.get(input_name), dict):
            value = value[input_name]
        members = {k: v for k, v in value.items() if v is not None}
        try:
            return xmlsafe.parse(json_to_xml({WRAPPER: members}))
        except JsonXmlError as e:
            raise PayloadError(f"the JSON payload cannot be written as XML: {e.reason}") from e
    if mediatype.is_xml(message.media_type):
        try:
            return xmlsafe.parse(message.body)
        except xmlsafe.XmlRefused as e:
            raise PayloadError(e.reason) from e
    raise PayloadError(f"a soap stage takes XML or JSON, not {message.media_type}")


def simple_part(source: etree._Element, name: str) -> etree._Element:
    """The input element of a simple type (a bare part, `<Amount>2</Amount>`): the
    payload's root if it is called `name`, else its child of that name (a JSON object
    `{"Amount": 2}`, an answer holding it)."""
    if local(source) == name:
        return source
    return next(
        (c for c in source if isinstance(c.tag, str) and local(c) == name),
        source,
    )


def override(source: etree._Element, name: str, texts: Sequence[str]) -> None:
    """Replace the children called `name` (any namespace) by one a text."""
    for child in list(source):
        if isinstance(child.tag, str) and local(child) == name:
            source.remove(child)
    for text in texts:
        etree.SubElement(source, name).text = text


def conform(source: etree._Element, element: Element, path: str) -> etree._Element:
    """`source`'s content written as `element`: names, namespaces, order as the schema
    says; every simple value checked. `path` names the place in errors."""
    out = etree.Element(element.qname)
    xsd_type = element.type
    _attributes(source, out, xsd_type)
    if source.get(f"{{{XSI}}}nil") in ("true", "1"):
        return out
    if source.get(f"{{{XSI}}}type") is not None:
        # A derived type named by the payload: its content is the sender's to get right.
        out.text = source.text
        out.extend(copy.deepcopy(child) for child in source)
        return out
    children = [c for c in source if isinstance(c.tag, str)]
    if not isinstance(xsd_type, ComplexType):
        if children:
            raise PayloadError(f"{path}: expected a value, found element <{local(children[0])}>")
        out.text = simple_text(xsd_type, source.text or "", path)
        return out
    particles = list(child_elements(xsd_type))
    named = {
        local(p.qname): i for i, p in enumerate(particles) if isinstance(p, Element) and p.qname
    }
    wildcard = next((i for i, p in enumerate(particles) if isinstance(p, XsdAny)), None)
    slots: list[list[etree._Element]] = [[] for _ in particles]
    for child in children:
        name = local(child)
        i = named.get(name)
        if i is not None:
            slots[i].append(conform(child, particles[i], f"{path}/{name}"))
        elif wildcard is not None:
            slots[wildcard].append(copy.deepcopy(child))
        else:
            expected = ", ".join(list(named)[:_NAMES_SHOWN]) or "no elements"
            raise PayloadError(f"{path}: unexpected element <{name}> (expected: {expected})")
    for slot in slots:
        out.extend(slot)
    text = source.text if source.text and source.text.strip() else None
    if text is not None and not children:
        if particles:
            expected = ", ".join(list(named)[:_NAMES_SHOWN]) or "elements"
            raise PayloadError(f"{path}: expected elements ({expected}), found text")
        out.text = text  # simple content of a complex type (a value with attributes)
    return out


def _attributes(source: etree._Element, out: etree._Element, xsd_type: Any) -> None:
    declared = {}
    if isinstance(xsd_type, ComplexType):
        declared = {local(a.qname): a for _, a in xsd_type.attributes if getattr(a, "qname", None)}
    for name, value in source.attrib.items():
        qname = etree.QName(name)
        if qname.namespace == XSI:
            out.set(name, value)
            continue
        attribute = declared.get(qname.localname)
        if attribute is not None:
            if isinstance(attribute.type, AnySimpleType):
                value = simple_text(attribute.type, value, f"@{qname.localname}")
            out.set(attribute.qname, value)


def simple_text(xsd_type: Any, text: str, path: str) -> str:
    """`text` if it is a value of the simple type, else PayloadError."""
    if isinstance(xsd_type, builtins.Boolean):
        ok = text.strip() in ("true", "false", "1", "0")
    else:
        try:
            xsd_type.pythonvalue(text)
            ok = True
        except (ValueError, TypeError, ArithmeticError):
            ok = False
    if not ok:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise PayloadError(f"{path}: {shown!r} is not a valid {_type_name(xsd_type)}")
    return text


def _type_name(xsd_type: Any) -> str:
    qname = getattr(xsd_type, "qname", None)
    return local(qname) if qname is not None else type(xsd_type).__name__


def header_block(element: Element, value: str, path: str) -> etree._Element:
    """A SOAP header block from a connection's value: XML, a JSON object, or text."""
    text = value.strip()
    if text.startswith("<"):
        try:
            source = xmlsafe.parse(text.encode())
        except xmlsafe.XmlRefused as e:
            raise PayloadError(f"{path}: {e.reason}") from e
    elif text.startswith("{"):
        source = payload_tree(Message(text.encode(), "application/json"), local(element.qname))
    else:
        source = etree.Element("value")
        source.text = value
    return conform(source, element, path)


def header_elements(operation_header: Element | None) -> list[tuple[tuple[str, ...], Element]]:
    """The input's SOAP header parts: (names a connection may give it by, element)."""
    if operation_header is None:
        return []
    found = []
    for part in child_elements(operation_header.type):
        if isinstance(part, Element) and part.qname is not None:
            names = tuple(n for n in dict.fromkeys([part.attr_name, local(part.qname)]) if n)
            found.append((names, part))
    return found


def header_bytes(blocks: Sequence[etree._Element], envelope_ns: str) -> bytes:
    """The soap:Header element holding `blocks`, serialized once at deploy."""
    if not blocks:
        return b""
    header = etree.Element(f"{{{envelope_ns}}}Header", nsmap={"soap-env": envelope_ns})
    header.extend(blocks)
    return etree.tostring(header)


def overrides_for(
    params: Mapping[str, Mapping[str, Any]], args: Mapping[str, Any]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The descriptor's arguments as (element name, texts); `None` (not given) is none."""
    found = []
    for name, value in args.items():
        if value is None or name not in params:
            continue
        wire = str(params[name].get("wire_name", name))
        found.append((wire, argument_texts(value)))
    return tuple(found)
