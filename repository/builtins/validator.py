"""The `validator` built-in: a payload well-formed for its media type, or valid against a
JSON Schema (as JSON or YAML)."""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Mapping
from typing import Any

import jsonschema
import referencing.exceptions
import yaml

from igwcore import mediatype
from igwcore.message import Message, RequestContext
from repository.builtins.jsonschemas import compile_schema
from repository.builtins.support import (
    INLINE_LIMIT,
    JSON_SCHEMA_COST,
    Isolation,
    compiled,
    load_json,
    load_xml,
    message_json,
    reject,
)


class Validator:
    """Without `schema`, checks that the payload is well-formed for its media type; with
    one, that it is JSON (or YAML) valid against that JSON Schema.

    A check against a schema always runs under the isolation (a schema's `uniqueItems`
    over a long array, say, costs what the client wants it to); a well-formedness check
    is linear, and runs inline on a small payload."""

    fixed_size = True

    def __init__(self, schema: str | None = None, *, isolation: Isolation) -> None:
        # Checked at resolution (`check_args`), compiled again in the worker that runs it.
        self._source = schema if schema is not None and json.loads(schema) is not None else None
        self._isolation = isolation

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        schema = args.get("schema")
        if schema is not None:
            compile_schema(schema)

    def call_now(self, message: Message, request: RequestContext | None = None) -> Message | None:
        """A small payload checked for well-formedness at once; else None."""
        if self._source is not None or len(message.body) >= INLINE_LIMIT:
            return None
        check_message(message)
        return message

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        if self.call_now(message, request) is not None:
            return message
        if self._source is None:
            await self._isolation.run(check_well_formed, message.body, message.content_type)
        else:
            await self._isolation.run(
                check_against, self._source, message.body, message.content_type
            )
        return message

    def size_bytes(self) -> int:
        # The compiled schema lives in the workers, within their own byte bound.
        return sys.getsizeof(self) + len(self._source or "")


def check_against(source: str, body: bytes, content_type: str) -> None:
    """Refuse (StageError) a payload that is not JSON or YAML valid against the schema."""
    validator = compiled("json-schema", source, compile_schema, JSON_SCHEMA_COST)
    assert validator is not None  # a `null` schema is no schema: checked for well-formedness
    instance = _load_structured(Message(body, content_type))
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    except referencing.exceptions.Unresolvable as e:
        raise reject(f"the schema's reference {e.ref!r} cannot be resolved") from e
    except RecursionError as e:
        raise reject("the payload or the schema nests too deeply") from e
    if error is not None:
        raise reject(f"{error.json_path}: {error.message}")


def _is_yaml(media_type: str) -> bool:
    m = mediatype.normalize(media_type)
    return m in ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml") or (
        m.endswith("+yaml")
    )


def check_well_formed(body: bytes, content_type: str) -> None:
    """Refuse (StageError) a payload that is not well-formed for its media type."""
    check_message(Message(body, content_type))


def check_message(message: Message) -> None:
    """Refuse (StageError) a message whose payload is not well-formed for its media type;
    a JSON one stays parsed for the stages after (`Message.json`)."""
    media = message.media_type
    if mediatype.is_json(media):
        message_json(message)
    elif mediatype.is_xml(media):
        load_xml(message.body)
    elif _is_yaml(media):
        _load_yaml(message.body)
    elif media.startswith("text/"):
        charset = _charset(message.content_type)
        try:
            codecs.lookup(charset)
        except LookupError as e:
            raise reject(f"unknown charset {charset!r}") from e
        try:
            text = message.body.decode(charset)
        except UnicodeDecodeError as e:
            raise reject(f"not {charset} text: {e.reason} at byte {e.start}") from e
        if mediatype.normalize(media) == "text/csv":
            _check_csv(text)


# RFC 4180, lenient where readers are: any line break, and a '"' inside a field that does not
# start with one. A field that starts with '"' must close it, then end. Possessive
# quantifiers: a body that is not CSV fails in linear time.
_CSV_FIELD = r'(?:"(?:[^"]++|"")*+"|[^",\r\n][^,\r\n]*+|)'
_CSV_ROW = rf"{_CSV_FIELD}(?:,{_CSV_FIELD})*+"
_CSV = re.compile(rf"(?:{_CSV_ROW}(?:\r\n|\n|\r))*+{_CSV_ROW}")


def _check_csv(text: str) -> None:
    match = _CSV.match(text)
    end = match.end() if match else 0
    if end < len(text):
        line = text.count("\n", 0, end) + 1
        raise reject(
            f"not well-formed CSV: on line {line}, a quoted field is not closed, or is "
            f"followed by more than a ',' or the line's end"
        )


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _load_structured(message: Message) -> Any:
    if _is_yaml(message.media_type):
        value = _load_yaml(message.body)
        _check_expansion(value)
        return value
    if mediatype.is_json(message.media_type):
        return load_json(message.body)
    try:
        return json.loads(message.body)
    except (ValueError, RecursionError) as e:
        raise reject(
            f"a schema validates JSON or YAML; this {message.media_type} payload is not JSON"
        ) from e


def _load_yaml(body: bytes) -> Any:
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as e:
        raise reject(f"not well-formed YAML: {e}".replace("\n", " ")) from e
    except RecursionError as e:
        raise reject("YAML nested too deeply") from e


MAX_YAML_NODES = 1_000_000


def _check_expansion(value: Any) -> None:
    """Refuse YAML whose aliases expand into a huge or endless tree (a "billion laughs")
    before a schema walks every node of it; counted once a distinct node."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise reject("YAML with a recursive alias")
        in_progress.add(key)
        members = node.values() if isinstance(node, dict) else node
        total = 1 + sum(size(m) for m in members)
        in_progress.discard(key)
        if total > MAX_YAML_NODES:
            raise reject(f"YAML whose aliases expand beyond {MAX_YAML_NODES} nodes")
        sizes[key] = total
        return total

    try:
        size(value)
    except RecursionError as e:
        raise reject("YAML nested too deeply") from e
