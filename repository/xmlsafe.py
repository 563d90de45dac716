"""Hardened XML parsing for everything that reads XML: stages, importers, converters.

A document with a DOCTYPE (a DTD, an entity declaration: XXE, billion laughs) is refused
outright rather than parsed with its entities left unexpanded: SPEC §2 makes such a
payload a `/stage-rejected`, and no caller needs one. Nothing is ever fetched: the parser
has no network, loads no DTD, and its resolver refuses every URL it is asked for (an
`xs:include`, an `xsl:import`), so even a schema or stylesheet compiled from a parsed
document cannot reach a file or a host.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree

__all__ = ["XmlRefused", "parse", "parse_text", "parser"]

_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml\s[^>]*\?>")


class XmlRefused(ValueError):
    """A document that is not well-formed XML, or that carries a DOCTYPE or entities."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RefuseAll(etree.Resolver):
    """Refuses every external resource: lxml raises what `resolve` raises."""

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        raise XmlRefused(f"external resource refused: {system_url or public_id}")


# lxml parsers must not be shared between threads; one a thread is cheap. A parser keeps
# what its resolver raised while a document of it was compiled (an XML Schema's include
# refused) and raises it again at its next parse: so a document to compile gets a parser
# of its own (`parse(..., own_parser=True)`), and a parse that meets such a stale refusal
# drops the thread's parser and parses again with a new one.
_local = threading.local()


def parser() -> etree.XMLParser:
    """This thread's hardened parser (for callers that build on lxml directly)."""
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = new_parser()
    return p


def new_parser() -> etree.XMLParser:
    """A hardened parser of its own: no entities, no network, no DTD, every resolver
    refusing."""
    p = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )
    p.resolvers.add(_RefuseAll())
    return p


def parse(data: bytes | str, *, own_parser: bool = False) -> etree._Element:
    """The document element of `data`; raise XmlRefused with a clear reason.

    `own_parser` for a document that will be compiled (a schema, a stylesheet): what its
    compilation refuses stays with its own parser."""
    if isinstance(data, str):
        return parse_text(data, own_parser=own_parser)
    if _prolog_has_doctype(data):
        raise XmlRefused("XML with a DOCTYPE (DTD or entity declarations) is not accepted")
    try:
        try:
            root = etree.fromstring(data, new_parser() if own_parser else parser())
        except XmlRefused:
            if own_parser:
                raise
            # A document without a DOCTYPE loads nothing external: this is a refusal an
            # earlier compilation left in the thread's parser. Start afresh.
            _local.parser = None
            root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as e:
        raise XmlRefused(f"XML is not well-formed: {e}") from e
    except XmlRefused:
        raise
    except ValueError as e:  # an encoding lxml does not know
        raise XmlRefused(f"XML is not well-formed: {e}") from e
    info = root.getroottree().docinfo
    # Catches what the byte scan cannot see: a DOCTYPE in UTF-16 or UTF-32.
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise XmlRefused("XML with a DOCTYPE (DTD or entity declarations) is not accepted")
    return root


def parse_text(text: str, *, own_parser: bool = False) -> etree._Element:
    """Like `parse`, for XML already decoded (a parameter's value): its declaration, which
    may name another encoding, is dropped and the text parsed as UTF-8."""
    return parse(_DECLARATION.sub("", text, count=1).encode(), own_parser=own_parser)


def _prolog_has_doctype(data: bytes) -> bool:
    """Whether the prolog (before the root element) holds `<!DOCTYPE`, in an ASCII-based
    encoding; a `<!DOCTYPE` inside the content (a CDATA section) is text, not a DTD."""
    i, n = 0, len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        i = 3
    while i < n:
        if data[i] in b" \t\r\n":
            i += 1
        elif data.startswith(b"<?", i):
            end = data.find(b"?>", i + 2)
            if end < 0:
                return False
            i = end + 2
        elif data.startswith(b"<!--", i):
            end = data.find(b"-->", i + 4)
            if end < 0:
                return False
            i = end + 3
        else:
            return data.startswith(b"<!DOCTYPE", i)
    return False
