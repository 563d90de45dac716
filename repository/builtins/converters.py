"""The converters `json_to_xml` and `xml_to_json`, by SPEC §3's mapping (`repository.jsonxml`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError
from repository import jsonxml
from repository.builtins.support import JSON, XML, load_json, load_xml, offload, reject


class _Converter:
    """A conversion of the whole payload into `output`; its one argument, `root`, is the
    wrapper element for what is not a single-key object."""

    output: ClassVar[str]

    def __init__(self, root: str = "root") -> None:
        self.check_args({"root": root}, {})
        self._root = root

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        root = args.get("root", "root")
        if not isinstance(root, str) or not jsonxml.is_name(root):
            raise ArgumentError("root", f"{root!r} is not an XML element name")

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        return Message(await offload(len(message.body), self._convert, message.body), self.output)

    def _convert(self, body: bytes) -> bytes:
        raise NotImplementedError

    def size_bytes(self) -> int:
        return sys.getsizeof(self)


class JsonToXml(_Converter):
    """JSON to XML by SPEC §3's mapping (see `repository.jsonxml`)."""

    output = XML

    def _convert(self, body: bytes) -> bytes:
        value = load_json(body)
        try:
            return jsonxml.json_to_xml(value, self._root)
        except jsonxml.JsonXmlError as e:
            raise reject(e.reason) from e


class XmlToJson(_Converter):
    """XML to JSON, the inverse of `json_to_xml` (see `repository.jsonxml`)."""

    output = JSON

    def _convert(self, body: bytes) -> bytes:
        value = jsonxml.xml_to_json(load_xml(body), self._root)
        return json.dumps(value, ensure_ascii=False).encode()
