"""The converters `json_to_xml` and `xml_to_json`, by SPEC §3's mapping (`repository.jsonxml`).

Both are linear in the payload: a small one (under `INLINE_LIMIT`) is converted at once,
on the event loop (`call_now`), a large one under the isolation, where its memory is
bounded too."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError
from repository import jsonxml
from repository.builtins.support import (
    INLINE_LIMIT,
    JSON,
    XML,
    Isolation,
    load_xml,
    message_json,
    reject,
)


def json_to_xml(message: Message, root: str) -> bytes:
    """JSON to XML by SPEC §3's mapping (see `repository.jsonxml`); the JSON as parsed
    for an earlier stage when one read it (`Message.json`)."""
    value = message_json(message)
    try:
        return jsonxml.json_to_xml(value, root, xml_chars=jsonxml.plain_json(message.body))
    except jsonxml.JsonXmlError as e:
        raise reject(e.reason) from e


def xml_to_json(message: Message, root: str) -> bytes:
    """XML to JSON, the inverse of `json_to_xml` (see `repository.jsonxml`)."""
    value = jsonxml.xml_to_json(load_xml(message.body), root)
    return json.dumps(value, ensure_ascii=False).encode()


class _Converter:
    """A conversion of the whole payload into `output`; its one argument, `root`, is the
    wrapper element for what is not a single-key object."""

    output: ClassVar[str]
    convert: ClassVar[Callable[[Message, str], bytes]]
    fixed_size = True

    def __init__(self, root: str = "root", *, isolation: Isolation) -> None:
        self.check_args({"root": root}, {})
        self._root = root
        self._isolation = isolation

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        root = args.get("root", "root")
        if not isinstance(root, str) or not jsonxml.is_name(root):
            raise ArgumentError("root", f"{root!r} is not an XML element name")

    def call_now(self, message: Message, request: RequestContext | None = None) -> Message | None:
        """A small payload converted at once; else None."""
        if len(message.body) >= INLINE_LIMIT:
            return None
        return Message(type(self).convert(message, self._root), self.output)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        answer = self.call_now(message, request)
        if answer is not None:
            return answer
        # A large one in a worker, whose memory is bounded too: only its bytes travel.
        plain = Message(message.body, message.content_type)
        converted = await self._isolation.run(type(self).convert, plain, self._root)
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
