"""A soap stage's message as a SOAP envelope, and the answer back as a message (SPEC §3).

Plain functions over a parsed operation; no sockets. The input mapping:

- XML: the payload's root is the operation's input element, or any other element whose
  children are the input's parameters (so one operation's response feeds the next). JSON:
  an object of the parameters (`{"Op": {...}}`, the input element's name around them,
  is taken off too); a `null` member is a parameter not given.
- Elements are matched by local name at every depth and written in the WSDL's
  namespaces (qualified or not, as the schema says), in the schema's order whatever the
  payload's order. An element the schema does not expect is refused (422), unless an
  `xsd:any` takes it, which gets it as it came. Attributes are matched by local name;
  others are dropped. An element with `xsi:type` is passed on as it came.
- Each simple value must parse as its XSD type (an `int` that is `x12` is refused here,
  not by the peer); then zeep reads the body and writes it again, which checks that
  required elements are there and writes values in their canonical form.
- Descriptor arguments replace the payload's elements of the same name.

The answer: the SOAP Body's first child (namespaces it uses declared on it), as
`application/xml`; an empty Body or an empty 2xx answer (a one-way operation) is an
empty message. A SOAP Fault (1.1 or 1.2, whatever the HTTP status) is a StageError
carrying `fault_code` (the local name for the envelope's own codes, `Client`,
`Server`, `Sender`...; other codes as written) and `fault_string`.
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

from appserver.message import Message
from gateway import mediatype
from gateway.problems import StageError
from repository import xmlsafe
from repository.jsonxml import JsonXmlError, json_to_xml
from repository.wsdlcache import child_elements

ENVELOPE_NS = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OUTPUT = "application/xml"
WRAPPER = "parameters"  # the element a JSON payload's members are written under
EXCERPT_CHARS = 200
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


def local(name: Any) -> str:
    return etree.QName(name).localname


def argument_texts(value: Any) -> tuple[str, ...]:
    """A descriptor argument as element texts (a list is repeated elements)."""
    values = value if isinstance(value, list) else [value]
    return tuple(scalar_text(v) for v in values if v is not None)


def scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


# -- request ------------------------------------------------------------------------------


def envelope(operation: Operation, message: Message) -> bytes:
    """The SOAP envelope for `message`; PayloadError when it does not fit."""
    env = operation.envelope_ns
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"soap-env": env})
    if operation.header:
        root.append(etree.fromstring(operation.header, xmlsafe.parser()))
    body = operation.body
    if body is None:
        etree.SubElement(root, f"{{{env}}}Body")
    else:
        source = payload_tree(message, operation.input_name)
        for name, texts in operation.overrides:
            override(source, name, texts)
        conformed = conform(source, body, local(body.qname))
        try:
            value = body.parse(
                conformed, operation.schema, context=XmlParserContext(operation.settings)
            )
            parent = root if operation.body_wrapped else etree.SubElement(root, f"{{{env}}}Body")
            body.render(parent, value)
        except (zeep_exceptions.Error, ValueError, TypeError) as e:
            raise PayloadError(f"the payload does not fit the operation's input: {e}") from e
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def payload_tree(message: Message, input_name: str) -> etree._Element:
    """The payload as an element whose children are the parameters."""
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


# -- answer -------------------------------------------------------------------------------


def answer(status: int, content: bytes) -> Message:
    """The stage's output for an HTTP answer, or StageError (fault, HTTP error)."""
    envelope_root = None
    if content.strip():
        try:
            root = xmlsafe.parse(content)
        except xmlsafe.XmlRefused:
            root = None
        if root is not None and etree.QName(root).namespace in ENVELOPE_NS.values():
            envelope_root = root
    first = None
    if envelope_root is not None:
        env = etree.QName(envelope_root).namespace
        body = envelope_root.find(f"{{{env}}}Body")
        if body is not None:
            first = next((c for c in body if isinstance(c.tag, str)), None)
        if first is not None and first.tag == f"{{{env}}}Fault":
            raise fault_error(first, env)
    if 200 <= status < 300:
        if envelope_root is None:
            if not content.strip():
                return Message(b"", OUTPUT)
            raise StageError(f"the answer is not a SOAP envelope: {excerpt(content)}")
        if first is None:
            return Message(b"", OUTPUT)
        return Message(serialize(first), OUTPUT)
    if 300 <= status < 400:
        raise StageError(f"upstream answered {status}; redirects are not followed")
    reason = f"upstream answered {status}: {excerpt(content)}"
    raise StageError(reason, rejected=400 <= status < 500)


def serialize(element: etree._Element) -> bytes:
    """An element alone, with the namespaces it uses declared on it."""
    alone = copy.deepcopy(element)
    etree.cleanup_namespaces(alone)
    return etree.tostring(alone, encoding="utf-8")


def fault_error(fault: etree._Element, env: str) -> StageError:
    if env == ENVELOPE_NS["1.1"]:
        code_el = _child(fault, "faultcode")
        string = _text(_child(fault, "faultstring"))
    else:
        code_el = _child(_child(fault, "Code"), "Value")
        string = _text(_child(_child(fault, "Reason"), "Text"))
    code = fault_code(code_el)
    return StageError(
        f"SOAP fault {code}: {string}" if code else f"SOAP fault: {string}",
        rejected=False,
        fault_code=code,
        fault_string=string,
    )


def fault_code(element: etree._Element | None) -> str:
    """The envelope's own codes by local name (`Client`, `Sender`), others as written."""
    text = _text(element)
    if element is None or not text:
        return text
    prefix, colon, name = text.rpartition(":")
    namespace = element.nsmap.get(prefix or None) if colon else None
    if namespace in ENVELOPE_NS.values():
        return name
    return text


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    return next((c for c in element if isinstance(c.tag, str) and local(c) == name), None)


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def excerpt(content: bytes) -> str:
    return content.decode("utf-8", errors="replace").strip()[:EXCERPT_CHARS]


def header_bytes(blocks: Sequence[etree._Element], env: str) -> bytes:
    """The soap:Header element holding `blocks`, serialized once at deploy."""
    if not blocks:
        return b""
    header = etree.Element(f"{{{env}}}Header", nsmap={"soap-env": env})
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
