"""The built-ins that compile a client's XML document: `xml_validator` (an XML Schema) and
`xslt` (a stylesheet)."""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Mapping
from typing import Any

from lxml import etree

from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError
from repository import xmlsafe
from repository.builtins.support import (
    XML,
    XSD_COST,
    XSLT_COST,
    Isolation,
    compiled,
    load_xml,
    reject,
)


def _parse_argument(name: str, text: Any, what: str) -> etree._Element:
    """The document argument `name` gives as text; ArgumentError when there is none or
    `xmlsafe` refuses it."""
    if not isinstance(text, str) or not text.strip():
        raise ArgumentError(name, f"the text of {what}")
    try:
        return xmlsafe.parse_text(text, own_parser=True)  # it is compiled next
    except xmlsafe.XmlRefused as e:
        raise ArgumentError(name, e.reason) from e


# --- xml_validator --------------------------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"


class XmlValidator:
    """Validates an XML payload against an XML Schema (XSD) given as text.

    An XML Schema is the client's program (a facet's pattern, a large `maxOccurs`, make
    its automaton cost what they like): it is compiled and run only under the isolation.
    What resolution checks here is that it parses and is self-contained."""

    def __init__(self, xsd: str, *, isolation: Isolation) -> None:
        _self_contained(xsd)
        self._source = xsd
        self._isolation = isolation

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _self_contained(args.get("xsd", ""))

    async def prepare(self) -> None:
        """Compile the schema once, under the isolation and the deadline (at deploy)."""
        await self._isolation.run(compile_xsd, self._source)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        await self._isolation.run(validate_xml, self._source, message.body)
        return message

    def size_bytes(self) -> int:
        # The compiled schema lives in the workers, within their own byte bound.
        return sys.getsizeof(self) + len(self._source)


def validate_xml(source: str, body: bytes) -> None:
    """Refuse (StageError) a payload the schema finds invalid."""
    schema = compiled("xsd", source, _compile_xsd, XSD_COST)
    document = load_xml(body)
    if schema.validate(document):
        return
    errors = list(schema.error_log)
    first = errors[0]
    more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
    raise reject(f"line {first.line}: {first.message}{more}")


def compile_xsd(source: str) -> None:
    """Compile (and cache) the schema, or ArgumentError: its deploy-time check."""
    compiled("xsd", source, _compile_xsd, XSD_COST)


def _self_contained(text: Any) -> etree._Element:
    """The schema's document; ArgumentError when it is none or would fetch another file."""
    document = _parse_argument("xsd", text, "an XML Schema")
    for element in document.iter(f"{XS}import", f"{XS}include", f"{XS}redefine", f"{XS}override"):
        if element.get("schemaLocation") is not None:
            tag = etree.QName(element).localname
            raise ArgumentError(
                "xsd", f"xs:{tag} with a schemaLocation: the schema must be self-contained"
            )
    return document


def _compile_xsd(text: str) -> etree.XMLSchema:
    """A self-contained XML Schema; ArgumentError when it cannot be compiled or would fetch."""
    document = _self_contained(text)
    try:
        return etree.XMLSchema(document)
    except (etree.XMLSchemaParseError, xmlsafe.XmlRefused) as e:
        raise ArgumentError("xsd", f"not a valid XML Schema: {e}") from e


# --- xslt -----------------------------------------------------------------------------------

XSL = "{http://www.w3.org/1999/XSL/Transform}"


class Xslt:
    """Transforms an XML payload with an XSLT 1.0 stylesheet given as text, with no access
    to files, the network or extension functions (EXSLT regular expressions included:
    they would run Python's backtracking `re` on the client's patterns).

    A stylesheet that reaches for another file (`xsl:include`, `xsl:import`), for an
    extension function (any prefixed function call: EXSLT's, a vendor's) or an extension
    element is not compiled: its stage rejects every message (422 `/stage-rejected`,
    SPEC §3), saying what it reached for. `document()` is denied where it runs (422
    `/stage-rejected` too). A stylesheet that is not well-formed or does not compile for
    another reason is 422 `/invalid-parameter` at resolution.
    The output is typed by `xsl:output`: its `media-type` if given, else `text/plain` for
    method `text`, `text/html` for `html`, `application/xml` otherwise.
    """

    def __init__(self, stylesheet: str, *, isolation: Isolation) -> None:
        document = _parse_argument("stylesheet", stylesheet, "an XSLT stylesheet")
        self._source = stylesheet
        self._refusal = reaches_out(document)
        self.media_type = _output_type(document)
        self._isolation = isolation

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _output_type(
            _parse_argument("stylesheet", args.get("stylesheet", ""), "an XSLT stylesheet")
        )

    async def prepare(self) -> None:
        """Compile the stylesheet once, under the isolation and the deadline (at deploy)."""
        if self._refusal is None:
            await self._isolation.run(compile_xslt, self._source)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        if self._refusal is not None:
            raise reject(f"the stylesheet reaches for {self._refusal}, which is not allowed")
        # Always isolated: a stylesheet's recursion can cost seconds, or gigabytes, on a
        # tiny document.
        body = await self._isolation.run(transform, self._source, message.body)
        return Message(body, self.media_type)

    def size_bytes(self) -> int:
        # The compiled stylesheet lives in the workers, within their own byte bound.
        return sys.getsizeof(self) + len(self._source)


def transform(source: str, body: bytes) -> bytes:
    """The stylesheet's output for a payload, or its rejection (StageError)."""
    stylesheet = compiled("xslt", source, _compile_xslt, XSLT_COST)
    document = load_xml(body)
    try:
        result = stylesheet(document)
    except etree.XSLTApplyError as e:
        details = [m.message for m in stylesheet.error_log if m.message != str(e)]
        raise reject("; ".join([f"the stylesheet failed: {e}", *details[-2:]])) from e
    if result.getroot() is None and not str(result):
        return b""
    try:
        return bytes(memoryview(result))
    except LookupError as e:  # an xsl:output encoding nobody knows
        raise reject(f"the stylesheet's output cannot be written: {e}") from e


def compile_xslt(source: str) -> None:
    """Compile (and cache) the stylesheet, or ArgumentError: its deploy-time check."""
    compiled("xslt", source, _compile_xslt, XSLT_COST)


# XPath function calls written with a prefix (`exsl:node-set(`, `php:function(`): every
# one is an extension function. Axis steps (`child::x`) have two colons and no call.
# A name may follow any character but one that continues a name or a QName (`1-exsl:f(`
# is `1 - exsl:f(`, a call).
_PREFIXED_CALL = re.compile(r"(?<![\w.:])([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)\s*\(")
_EXPRESSION_ATTRIBUTES = ("select", "test", "match", "use", "count", "from", "value")


def reaches_out(stylesheet: etree._Element) -> str | None:
    """What the stylesheet reaches for beyond its input (another file, an extension
    function or element), described; None when it reaches for nothing."""
    for element in stylesheet.iter(f"{XSL}include", f"{XSL}import"):
        return f"another file ({element.tag.removeprefix(XSL)} of {element.get('href')!r})"
    extension_prefixes: set[str] = set()
    for element in stylesheet.iter():
        if not isinstance(element.tag, str):
            continue
        prefixes = element.get("extension-element-prefixes") or element.get(
            f"{XSL}extension-element-prefixes"
        )
        if prefixes:
            extension_prefixes.update(prefixes.split())
        if element.prefix in extension_prefixes:
            return f"an extension element ({element.prefix}:{etree.QName(element).localname})"
        for name, value in element.attrib.items():
            is_expression = element.tag.startswith(XSL) and name in _EXPRESSION_ATTRIBUTES
            if is_expression or "{" in value:
                call = _PREFIXED_CALL.search(value)
                if call is not None:
                    return f"an extension function ({call[1]}:{call[2]})"
    return None


def _compile_xslt(text: str) -> etree.XSLT:
    """The compiled stylesheet; ArgumentError."""
    document = _parse_argument("stylesheet", text, "an XSLT stylesheet")
    try:
        return etree.XSLT(document, access_control=etree.XSLTAccessControl.DENY_ALL, regexp=False)
    except (etree.XSLTParseError, xmlsafe.XmlRefused) as e:
        raise ArgumentError("stylesheet", f"does not compile: {e}") from e


def _output_type(stylesheet: etree._Element) -> str:
    method, media, encoding = "xml", "", ""
    for output in stylesheet.iterchildren(f"{XSL}output"):  # later ones override
        method = output.get("method", method)
        media = output.get("media-type", media)
        encoding = output.get("encoding", encoding)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as e:  # its output would claim an encoding nobody can read
            raise ArgumentError("stylesheet", f"xsl:output encoding {encoding!r} is unknown") from e
    if not media:
        media = {"text": "text/plain", "html": "text/html"}.get(method, XML)
    if media.startswith("text/") and "charset" not in media:
        media += f"; charset={encoding or 'utf-8'}"
    if not _MEDIA_TYPE.fullmatch(media):  # it becomes the response's Content-Type
        raise ArgumentError("stylesheet", f"xsl:output gives {media!r}, which is not a media type")
    return media


# type/subtype and parameters of RFC 9110 tokens, quoted strings without control characters.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t\x20-\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"'
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
