"""The built-ins that compile a client's XML document: `xml_validator` (an XML Schema) and
`xslt` (a stylesheet)."""

from __future__ import annotations

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
    Pool,
    cost,
    load_xml,
    offload,
    reject,
)


def _parse_argument(name: str, text: Any, what: str) -> etree._Element:
    """The document argument `name` gives as text; ArgumentError when there is none or
    `xmlsafe` refuses it."""
    if not isinstance(text, str) or not text.strip():
        raise ArgumentError(name, f"the text of {what}")
    try:
        return xmlsafe.parse_text(text)
    except xmlsafe.XmlRefused as e:
        raise ArgumentError(name, e.reason) from e


# --- xml_validator --------------------------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"


class XmlValidator:
    """Validates an XML payload against an XML Schema (XSD) given as text."""

    def __init__(self, xsd: str) -> None:
        self._source = xsd
        self._pool = Pool(lambda: _compile_xsd(xsd), _compile_xsd(xsd))

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _compile_xsd(args.get("xsd", ""))

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        await offload(len(message.body), self._validate, message.body)
        return message

    def _validate(self, body: bytes) -> None:
        document = load_xml(body)
        with self._pool.take() as schema:
            if schema.validate(document):
                return
            errors = list(schema.error_log)
        first = errors[0]
        more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
        raise reject(f"line {first.line}: {first.message}{more}")

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + cost(XSD_COST, self._source) * self._pool.size


def _compile_xsd(text: Any) -> etree.XMLSchema:
    """A self-contained XML Schema; ArgumentError when it cannot be compiled or would fetch."""
    document = _parse_argument("xsd", text, "an XML Schema")
    for element in document.iter(f"{XS}import", f"{XS}include", f"{XS}redefine", f"{XS}override"):
        if element.get("schemaLocation") is not None:
            tag = etree.QName(element).localname
            raise ArgumentError(
                "xsd", f"xs:{tag} with a schemaLocation: the schema must be self-contained"
            )
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

    def __init__(self, stylesheet: str) -> None:
        self._source = stylesheet
        self._refusal = reaches_out(_parse_argument("stylesheet", stylesheet, "a stylesheet"))
        self._pool: Pool[etree.XSLT] | None = None
        self.media_type = XML
        if self._refusal is None:
            first, self.media_type = _compile_xslt(stylesheet)
            self._pool = Pool(lambda: _compile_xslt(stylesheet)[0], first)

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        text = args.get("stylesheet", "")
        if reaches_out(_parse_argument("stylesheet", text, "an XSLT stylesheet")) is None:
            _compile_xslt(text)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        if self._refusal is not None:
            raise reject(f"the stylesheet reaches for {self._refusal}, which is not allowed")
        # Always in a thread: a stylesheet's recursion can cost seconds on a tiny document.
        body = await offload(len(message.body), self._transform, message.body, bounded=False)
        return Message(body, self.media_type)

    def _transform(self, body: bytes) -> bytes:
        document = load_xml(body)
        assert self._pool is not None  # a refused stylesheet never gets here
        with self._pool.take() as transform:
            try:
                result = transform(document)
            except etree.XSLTApplyError as e:
                details = [m.message for m in transform.error_log if m.message != str(e)]
                raise reject("; ".join([f"the stylesheet failed: {e}", *details[-2:]])) from e
        if result.getroot() is None and not str(result):
            return b""
        return bytes(memoryview(result))

    def size_bytes(self) -> int:
        copies = self._pool.size if self._pool is not None else 0
        return sys.getsizeof(self) + cost(XSLT_COST, self._source) * copies


# XPath function calls written with a prefix (`exsl:node-set(`, `php:function(`): every
# one is an extension function. Axis steps (`child::x`) have two colons and no call.
_PREFIXED_CALL = re.compile(r"(?<![\w.:-])([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)\s*\(")
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


def _compile_xslt(text: Any) -> tuple[etree.XSLT, str]:
    """The compiled stylesheet and its output's media type; ArgumentError."""
    document = _parse_argument("stylesheet", text, "an XSLT stylesheet")
    try:
        transform = etree.XSLT(
            document, access_control=etree.XSLTAccessControl.DENY_ALL, regexp=False
        )
    except (etree.XSLTParseError, xmlsafe.XmlRefused) as e:
        raise ArgumentError("stylesheet", f"does not compile: {e}") from e
    return transform, _output_type(document)


def _output_type(stylesheet: etree._Element) -> str:
    method, media, encoding = "xml", "", ""
    for output in stylesheet.iterchildren(f"{XSL}output"):  # later ones override
        method = output.get("method", method)
        media = output.get("media-type", media)
        encoding = output.get("encoding", encoding)
    if not media:
        media = {"text": "text/plain", "html": "text/html"}.get(method, XML)
    if media.startswith("text/") and "charset" not in media:
        media += f"; charset={encoding or 'utf-8'}"
    return media
