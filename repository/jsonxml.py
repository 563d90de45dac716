"""SPEC §3's mapping between JSON and XML (the `json_to_xml` and `xml_to_json` services).

An object's keys are child elements, a list is repeated elements, scalars are text,
`@name` keys are attributes and `#text` is text. A single-key object becomes the root
element; anything else goes under the wrapper element (`root`). Where SPEC is silent:

- Scalars are written as their JSON text (`true`, `false`, `12`, `1.5`); `null` is an
  empty element. `xml_to_json` reads text back as strings only, and an empty element as
  `""`: so `null`, `""` and `{}` all come back as `""`.
- A key that is not an XML name (nor `@name`, `#text`) is refused with `JsonXmlError`:
  names are never mangled, so what reaches XML is what the client wrote. So are strings
  holding characters XML cannot carry (most control characters).
- A list directly inside a list (and a list at the top) is an element holding one
  `<item>` element a member; an empty list writes nothing. Neither comes back as it was.
- Namespaces: names are written as in the document, `prefix:local`, and namespace
  declarations are `@xmlns` / `@xmlns:prefix` keys on the element that declares them, so
  a SOAP body survives `xml_to_json | json_to_xml`. `json_to_xml` refuses a prefix that
  no enclosing object declares (except `xml`).
- The wrapper is symmetric: `xml_to_json` of a document whose element is the wrapper
  (`<root>`) gives that element's content, and `json_to_xml` wraps a single-key object
  whose key is the wrapper's name (or whose value is a list). So any object whose keys are
  XML names, whose scalars are strings, and whose lists have two or more items and no
  list members, comes back equal, single key or not.
- In an element with children, its text nodes are joined into `#text` unless they are
  all whitespace (indentation); comments and processing instructions are dropped.

Two writers give one output. The common shapes — objects whose keys are plain names,
lists, scalars — go through `_fast`, which checks each distinct name once a process and
the whole document's characters once, and builds no JSON path; anything else (attributes,
`#text`, prefixes, an unusual type, a name or character it would refuse) falls back to
the full writer, which names the path of what it refuses. A property test holds the two
to the same output (`tests/repository/test_jsonxml_fast.py`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from repository import xmlsafe

__all__ = ["JsonXmlError", "is_name", "json_to_xml", "xml_to_json"]

XML_NS = "http://www.w3.org/XML/1998/namespace"
ITEM = "item"

_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHAR = _START + r"\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
_NCNAME = f"[{_START}][{_CHAR}]*"
NCNAME_RE = re.compile(f"^{_NCNAME}$")
QNAME_RE = re.compile(f"^{_NCNAME}(:{_NCNAME})?$")
# Characters XML 1.0 cannot carry, even as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


class JsonXmlError(ValueError):
    """A value `json_to_xml` cannot write; `reason` names where (a JSON path)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_name(name: str) -> bool:
    """Whether `name` is an XML name without a prefix (an NCName)."""
    return bool(NCNAME_RE.match(name))


def json_to_xml(value: Any, root: str = "root", *, xml_chars: bool = False) -> bytes:
    """`value` (parsed JSON) as a UTF-8 XML document without an XML declaration.

    `xml_chars`: the caller knows every string in `value` holds only characters XML can
    carry (`plain_json` of the text it was parsed from), so they are not checked again."""
    if not _plain_name(root):
        raise JsonXmlError(f"the root element name {root!r} is not an XML name")
    try:
        fast = _fast(value, root, xml_chars)
    except (_Unusual, RecursionError):
        fast = None
    if fast is not None:
        return fast
    return _full(value, root)


def plain_json(text: bytes) -> bool:
    """Whether JSON text, once parsed, can hold only characters XML carries: ASCII
    without escapes (JSON forbids raw control characters in strings)."""
    return text.isascii() and b"\\" not in text


def _full(value: Any, root: str) -> bytes:
    out: list[str] = []
    try:
        if isinstance(value, dict) and len(value) == 1:
            ((key, inner),) = value.items()
            if _is_element_key(key) and key != root and not isinstance(inner, list):
                _element(out, key, inner, {"xml": XML_NS}, f"$.{key}")
                return "".join(out).encode()
        _element(out, root, value, {"xml": XML_NS}, "$")
    except RecursionError as e:
        raise JsonXmlError("the JSON value is nested too deeply") from e
    return "".join(out).encode()


def xml_to_json(document: bytes | etree._Element | etree._ElementTree, root: str = "root") -> Any:
    """The inverse of `json_to_xml`; `document` is bytes (parsed with `xmlsafe`) or lxml."""
    if isinstance(document, bytes | bytearray | str):
        element = xmlsafe.parse(bytes(document) if not isinstance(document, str) else document)
    elif isinstance(document, etree._ElementTree):
        element = document.getroot()
    else:
        element = document
    content = _content(element, {})
    name = _qname(element)
    return content if name == root else {name: content}


# --- JSON -> XML, the common shapes ------------------------------------------------------------


class _Unusual(Exception):
    """What `_fast` leaves to the full writer."""


# Names seen, and whether each is an XML name without a prefix. Bounded: past the bound a
# name is checked every time it comes.
_NAMES: dict[str, bool] = {}
MAX_NAMES = 4096


def _plain_name(name: str) -> bool:
    known = _NAMES.get(name)
    if known is None:
        known = bool(NCNAME_RE.match(name))
        if len(_NAMES) < MAX_NAMES:
            _NAMES[name] = known
    return known


def _fast(value: Any, root: str, xml_chars: bool) -> bytes | None:
    """The document, as `_full` writes it, when `value` has only the common shapes; else
    None (or `_Unusual`, or RecursionError)."""
    out: list[str] = []
    if type(value) is dict and len(value) == 1:
        ((key, inner),) = value.items()
        if key != root and type(inner) is not list and _plain_name(key):
            _fast_element(out, key, inner)
        else:
            _fast_element(out, root, value)
    else:
        _fast_element(out, root, value)
    document = "".join(out)
    if not xml_chars and _NOT_XML.search(document):
        return None  # the full writer names where
    return document.encode()


def _fast_text(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT_ESCAPES)
    return text


def _fast_element(out: list[str], name: str, value: Any) -> None:
    kind = type(value)
    if kind is str:
        out.append(f"<{name}>{_fast_text(value)}</{name}>" if value else f"<{name}/>")
    elif kind is dict:
        out.append(f"<{name}>")
        start = len(out)
        names = _NAMES
        for key, member in value.items():
            if not (names.get(key) or _plain_name(key)):
                raise _Unusual  # @attribute, #text, prefix:name, or not a name
            if type(member) is list:
                for item in member:
                    _fast_element(out, key, item)
            else:
                _fast_element(out, key, member)
        if len(out) == start:
            out[-1] = f"<{name}/>"
        else:
            out.append(f"</{name}>")
    elif kind is list:
        out.append(f"<{name}>")
        for item in value:
            _fast_element(out, ITEM, item)
        out.append(f"</{name}>")
    elif value is None:
        out.append(f"<{name}/>")
    elif kind is bool:
        out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
    elif kind is int or kind is float:
        out.append(f"<{name}>{json.dumps(value)}</{name}>")
    else:
        raise _Unusual


# --- JSON -> XML, every shape, with the path of what is refused -----------------------------


def _is_element_key(key: str) -> bool:
    return not key.startswith(("@", "#"))


def _element(
    out: list[str], name: str, value: Any, scope: dict[str | None, str], path: str
) -> None:
    if isinstance(value, dict):
        _object(out, name, value, scope, path)
    elif isinstance(value, list):
        _check_qname(name, scope, path, element=True)
        out.append(f"<{name}>")
        for i, item in enumerate(value):
            _element(out, ITEM, item, scope, f"{path}[{i}]")
        out.append(f"</{name}>")
    else:
        _check_qname(name, scope, path, element=True)
        text = _scalar(value, path)
        out.append(f"<{name}>{_escape(text, path)}</{name}>" if text else f"<{name}/>")


def _object(
    out: list[str], name: str, obj: dict[str, Any], scope: dict[str | None, str], path: str
) -> None:
    declared: list[tuple[str, str]] = []
    inner = dict(scope)
    for key, uri in obj.items():
        if key == "@xmlns" or key.startswith("@xmlns:"):
            if not isinstance(uri, str):
                raise JsonXmlError(f"{path}.{key}: a namespace declaration is a string")
            prefix = key[7:] or None
            if prefix is not None and not is_name(prefix):
                raise JsonXmlError(f"{path}.{key}: {prefix!r} is not a namespace prefix")
            inner[prefix] = uri
            declared.append((key[1:], uri))
    _check_qname(name, inner, path, element=True)
    attrs: list[str] = [f' {k}="{_escape(u, path, attribute=True)}"' for k, u in declared]
    text = ""
    children: list[tuple[str, Any]] = []
    for key, member in obj.items():
        where = f"{path}.{key}"
        if key == "@xmlns" or key.startswith("@xmlns:"):
            continue
        if key.startswith("@"):
            _check_qname(key[1:], inner, where, element=False)
            if isinstance(member, dict | list):
                raise JsonXmlError(f"{where}: an attribute's value is a scalar")
            attrs.append(f' {key[1:]}="{_escape(_scalar(member, where), where, attribute=True)}"')
        elif key == "#text":
            if isinstance(member, dict | list):
                raise JsonXmlError(f"{where}: #text is a scalar")
            text = _scalar(member, where)
        else:
            children.append((key, member))
    head = f"<{name}{''.join(attrs)}"
    if not text and not any(not (isinstance(m, list) and not m) for _, m in children):
        out.append(head + "/>")
        return
    out.append(head + ">")
    out.append(_escape(text, path))
    for key, member in children:
        where = f"{path}.{key}"
        if isinstance(member, list):
            for i, item in enumerate(member):
                _element(out, key, item, inner, f"{where}[{i}]")
        else:
            _element(out, key, member, inner, where)
    out.append(f"</{name}>")


def _check_qname(name: str, scope: dict[str | None, str], path: str, *, element: bool) -> None:
    if not QNAME_RE.match(name):
        what = "an element" if element else "an attribute"
        raise JsonXmlError(f"{path}: {name!r} is not an XML name for {what}")
    prefix, sep, _ = name.partition(":")
    if sep and prefix not in scope:
        raise JsonXmlError(f"{path}: the namespace prefix {prefix!r} is not declared (@xmlns:…)")


def _scalar(value: Any, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise JsonXmlError(f"{path}: {type(value).__name__} is not a JSON value")


def _escape(text: str, path: str, *, attribute: bool = False) -> str:
    bad = _NOT_XML.search(text)
    if bad:
        raise JsonXmlError(f"{path}: character U+{ord(bad.group()):04X} cannot be written in XML")
    return text.translate(_ATTR_ESCAPES if attribute else _TEXT_ESCAPES)


# --- XML -> JSON ----------------------------------------------------------------------------


def _qname(element: etree._Element) -> str:
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _attribute_name(key: str, nsmap: dict[str | None, str]) -> str:
    if not key.startswith("{"):
        return key
    uri, local = key[1:].split("}", 1)
    if uri == XML_NS:
        return f"xml:{local}"
    prefixes = sorted(p for p, u in nsmap.items() if u == uri and p is not None)
    return f"{prefixes[0]}:{local}" if prefixes else local


def _content(element: etree._Element, parent_nsmap: dict[str | None, str]) -> Any:
    nsmap = element.nsmap
    result: dict[str, Any] = {}
    for prefix, uri in nsmap.items():
        if parent_nsmap.get(prefix) != uri:
            result["@xmlns" if prefix is None else f"@xmlns:{prefix}"] = uri
    for key, value in element.attrib.items():
        result["@" + _attribute_name(key, nsmap)] = value
    texts = [element.text or ""]
    has_children = False
    for child in element:
        texts.append(child.tail or "")
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        has_children = True
        name, value = _qname(child), _content(child, nsmap)
        # _content never gives a list, so a list here is made of repeated elements.
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    text = "".join(texts)
    if not result:
        return text
    if text and (not has_children or text.strip()):
        result["#text"] = text
    return result
