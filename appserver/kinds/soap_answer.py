"""A SOAP answer as a soap stage's output, or the error it is (SPEC §3).

The SOAP Body's first child (namespaces it uses declared on it), as `application/xml`;
an empty Body or an empty 2xx answer (a one-way operation) is an empty message. A SOAP
Fault (1.1 or 1.2, whatever the HTTP status) is a StageError carrying `fault_code` (the
local name for the envelope's own codes, `Client`, `Server`, `Sender`...; other codes as
written; SOAP 1.2 subcodes joined by dots, as SOAP 1.1 writes them: `Sender.Refused`)
and `fault_string`. Without a fault, a 3xx, 4xx or 5xx answer fails the stage (a 4xx as
/stage-rejected), and so does a 2xx that is not a SOAP envelope. A plain function over
bytes; no sockets.
"""

from __future__ import annotations

import copy

from lxml import etree

from igwcore.message import Message
from igwcore.problems import StageError
from repository import xmlsafe

ENVELOPE_NS = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
OUTPUT = "application/xml"
EXCERPT_CHARS = 200


def local(name: object) -> str:
    """The local name of an element, a QName or a `{namespace}name` text."""
    return etree.QName(name).localname


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
        envelope_ns = etree.QName(envelope_root).namespace
        body = envelope_root.find(f"{{{envelope_ns}}}Body")
        if body is not None:
            first = next((c for c in body if isinstance(c.tag, str)), None)
        if first is not None and first.tag == f"{{{envelope_ns}}}Fault":
            raise fault_error(first, envelope_ns)
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


def fault_error(fault: etree._Element, envelope_ns: str) -> StageError:
    if envelope_ns == ENVELOPE_NS["1.1"]:
        code = fault_code(_child(fault, "faultcode"))
        string = _text(_child(fault, "faultstring"))
    else:
        # SOAP 1.2 subcodes are 1.1's dotted codes: `Sender` with `Refused` is
        # `Sender.Refused`, as `Client.Refused` would be.
        codes = []
        level = _child(fault, "Code")
        while level is not None:
            codes.append(fault_code(_child(level, "Value")))
            level = _child(level, "Subcode")
        code = ".".join(c for c in codes if c)
        string = _text(_child(_child(fault, "Reason"), "Text"))
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
