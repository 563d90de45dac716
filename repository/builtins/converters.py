"""The converters `json_to_xml` and `xml_to_json`, by SPEC §3's mapping (`repository.jsonxml`).

Both are linear in the payload: a small one is converted inline, a large one under the
isolation (`support.offload`), where its memory is bounded too."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError
from repository import jsonxml
from repository.builtins.support import JSON, XML, Isolation, load_json, load_xml, offload, reject


def json_to_xml(body: bytes, root: str) -> bytes:
    """JSON to XML by SPEC §3's mapping (see `repository.jsonxml`)."""
    value = load_json(body)
    try:
        return jsonxml.json_to_xml(value, root)
    except jsonxml.JsonXmlError as e:
        raise reject(e.reason) from e


def xml_to_json(body: bytes, root: str) -> bytes:
    """XML to JSON, the inverse of `json_to_xml` (see `repository.jsonxml`)."""
    value = jsonxml.xml_to_json(load_xml(body), root)
    return json.dumps(value, ensure_ascii=False).encode()


class _Converter:
    """A conversion of the whole payload into `output`; its one argument, `root`, is the
    wrapper element for what is not a single-key object."""

    output: ClassVar[str]
    convert: ClassVar[Callable[[bytes, str], bytes]]

    def __init__(self, root: str = "root", *, isolation: Isolation) -> None:
        self.check_args({"root": root}, {})
        self._root = root
        self._isolation = isolation

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        root = args.get("root", "root")
        if not isinstance(root, str) or not jsonxml.is_name(root):
            raise ArgumentError("root", f"{root!r} is not an XML element name")

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        body = message.body
        converted = await offload(self._isolation, len(body), type(self).convert, body, self._root)
        return Message(converted, self.output)

    def size_bytes(self) -> int:
        return sys.getsizeof(self)


class JsonToXml(_Converter):
    """JSON to XML by SPEC §3's mapping (see `repository.jsonxml`)."""

    output = XML
    convert = staticmethod(json_to_xml)


class XmlToJson(_Converter):
    """XML to JSON, the inverse of `json_to_xml` (see `repository.jsonxml`)."""

    output = JSON
    convert = staticmethod(xml_to_json)
