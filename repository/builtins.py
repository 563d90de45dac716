"""The built-in services of SPEC §3, as classes for the `python` kind.

Each class is instantiated once at deploy with its coerced arguments (compiling what it
needs: a schema, a stylesheet, an open log file) and called once a message. A class's
`check_args` runs at resolution, so a bad argument is 422 `/invalid-parameter` before
anything deploys. Work that grows with the payload runs inline below `INLINE_LIMIT` and in
a worker thread above it, so a big document never stalls the event loop; work whose cost a
client's argument decides (a stylesheet, a schema's regular expressions) always runs in a
worker thread.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import jsonschema
import referencing
import referencing.exceptions
import yaml
from lxml import etree

from appserver.kinds.base import ArgumentError
from appserver.message import Message, RequestContext
from gateway import mediatype
from gateway.problems import StageError
from repository import jsonxml, xmlsafe
from repository.entry import ServiceEntry

if TYPE_CHECKING:
    from gateway.config import Config

__all__ = [
    "BUILTIN_ENTRIES",
    "INLINE_LIMIT",
    "JsonToXml",
    "Logger",
    "Validator",
    "XmlToJson",
    "XmlValidator",
    "Xslt",
    "offload",
]

INLINE_LIMIT = 64 * 1024
MAX_REASON = 500
T = TypeVar("T")

# What a compiled schema or stylesheet holds, as fixed bytes plus bytes per byte of its
# source. Measured once: tracemalloc over 200 jsonschema compilations; for lxml, whose
# memory libxml2 allocates out of tracemalloc's sight, RSS growth over 500-2000
# compilations of a 0.5 KB and a 10-18 KB source (lxml 6.1, libxml2 2.14, libxslt 1.1.43).
JSON_SCHEMA_COST = (0, 13)
XSD_COST = (3 * 1024, 18)
XSLT_COST = (48 * 1024, 32)


async def offload(size: int, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
    """`fn(*args)` inline for a small payload; in a worker thread for a big one, or when
    the work is not bounded by the payload's size (a client's stylesheet or regex can
    make a small payload cost seconds, and the event loop must not wait on it)."""
    if bounded and size < INLINE_LIMIT:
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


def _cost(cost: tuple[int, int], source: str) -> int:
    fixed, per_byte = cost
    return fixed + per_byte * len(source.encode())


def _reject(reason: str) -> StageError:
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return StageError(reason, rejected=True)


class _Pool(Generic[T]):
    """Compiled lxml objects keep per-call state (their error log): one a concurrent use."""

    def __init__(self, make: Callable[[], T], first: T) -> None:
        self._make = make
        self._free = [first]
        self._lock = threading.Lock()
        self.size = 1

    @contextlib.contextmanager
    def take(self) -> Iterator[T]:
        with self._lock:
            item = self._free.pop() if self._free else None
            if item is None:
                self.size += 1
        if item is None:
            item = self._make()
        try:
            yield item
        finally:
            with self._lock:
                self._free.append(item)


# --- logger ---------------------------------------------------------------------------------

STAGE_LOG = logging.getLogger("integration_gateway.stage.logger")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# A file name inside the log folder: not absolute, no `..` segment, no backslash, no NUL
# nor other control character.
LOG_FILE_PATTERN = r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))[^\\\x00-\x1f\x7f]+$"
_CONTROL = {c: f"\\x{c:02x}" for c in range(0x20)} | {0x7F: "\\x7f"}


class Logger:
    """Logs one line a message (method, path, media type, size, request id), at `level`,
    to the `integration_gateway.stage.logger` logger and, with `file`, to that file in
    `[services.logger] dir`; passes the message on unchanged."""

    def __init__(
        self,
        level: str = "INFO",
        file: str | None = None,
        *,
        settings: Mapping[str, Any] | None = None,
        config: Config | None = None,
    ) -> None:
        settings = settings or {}
        self.check_args({"level": level, "file": file}, settings)
        self._level_name = level
        self._level: int = logging.getLevelNamesMapping()[level]
        self._fd: int | None = None
        self.path: Path | None = None
        if file is not None:
            self.path = _log_path(_log_dir(settings, config), file)
            try:
                self._fd = os.open(
                    self.path,
                    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                    0o640,
                )
            except OSError as e:
                raise ArgumentError("file", f"cannot open {file!r}: {e.strerror}") from e

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        level = args.get("level", "INFO")
        if level not in LEVELS:
            raise ArgumentError("level", f"one of {', '.join(LEVELS)}")
        file = args.get("file")
        if file is None:
            return
        if not isinstance(file, str) or not file:
            raise ArgumentError("file", "a file name")
        if file.startswith("/") or "\\" in file:
            raise ArgumentError("file", "a file name inside the log folder, not a path")
        if any(ord(c) < 0x20 or c == "\x7f" for c in file):
            raise ArgumentError("file", "a file name without control characters")
        if ".." in file.split("/"):
            raise ArgumentError("file", "a '..' segment would leave the log folder")

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        if request is None:
            request = RequestContext(method="-", path="-")
        line = (
            f"{request.method} {request.path.translate(_CONTROL)} {message.media_type} "
            f"{len(message.body)} bytes request_id={request.request_id or '-'}"
        )
        STAGE_LOG.log(self._level, "%s", line)
        if self._fd is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            # One write on an O_APPEND descriptor: lines from concurrent stages never mix.
            os.write(self._fd, f"{stamp} {self._level_name} {line}\n".encode())
        return message

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + 512


def _log_dir(settings: Mapping[str, Any], config: Config | None) -> Path:
    folder = str(settings.get("dir", "var/log"))
    return config.path(folder) if config is not None else Path(folder)


def _log_path(folder: Path, file: str) -> Path:
    """`file` inside `folder`, symbolic links resolved; ArgumentError if it leaves it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ArgumentError("file", f"cannot create the log folder: {e.strerror}") from e
    base = os.path.realpath(folder)

    def inside() -> str:
        real = os.path.realpath(os.path.join(base, file))
        if real == base or os.path.commonpath([base, real]) != base:
            raise ArgumentError("file", f"{file!r} leaves the log folder")
        return real

    real = inside()
    try:
        Path(real).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ArgumentError("file", f"cannot create its folder: {e.strerror}") from e
    return Path(inside())  # again: a link may have appeared while the folders were made


# --- validator ------------------------------------------------------------------------------


class Validator:
    """Without `schema`, checks that the payload is well-formed for its media type; with
    one, that it is JSON (or YAML) valid against that JSON Schema."""

    def __init__(self, schema: str | None = None) -> None:
        self._source = schema or ""
        self._schema = _compile_json_schema(schema) if schema is not None else None
        # A `pattern` is a regular expression the client wrote: it may backtrack for ages.
        self._bounded = "pattern" not in self._source

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        schema = args.get("schema")
        if schema is not None:
            _compile_json_schema(schema)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        await offload(len(message.body), self._check, message, bounded=self._bounded)
        return message

    def _check(self, message: Message) -> None:
        if self._schema is None:
            _check_well_formed(message)
            return
        instance = _load_structured(message)
        try:
            error = jsonschema.exceptions.best_match(self._schema.iter_errors(instance))
        except referencing.exceptions.Unresolvable as e:
            raise _reject(f"the schema's reference {e.ref!r} cannot be resolved") from e
        if error is not None:
            raise _reject(f"{error.json_path}: {error.message}")

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + _cost(JSON_SCHEMA_COST, self._source)


def _compile_json_schema(text: str) -> jsonschema.protocols.Validator | None:
    """The validator for a schema given as JSON text (None for `null`); ArgumentError."""
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ArgumentError("schema", f"not JSON: {e}") from e
    if schema is None:
        return None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise ArgumentError("schema", f"not a valid JSON Schema: {e.message}") from e
    # An empty registry: a `$ref` to a URL is never fetched (jsonschema would, by default).
    return cls(schema, registry=referencing.Registry(), format_checker=cls.FORMAT_CHECKER)


def _is_yaml(media_type: str) -> bool:
    m = mediatype.normalize(media_type)
    return m in ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml") or (
        m.endswith("+yaml")
    )


def _check_well_formed(message: Message) -> None:
    media = message.media_type
    if mediatype.is_json(media):
        _load_json(message.body)
    elif mediatype.is_xml(media):
        _load_xml(message.body)
    elif _is_yaml(media):
        _load_yaml(message.body)
    elif media.startswith("text/"):
        charset = _charset(message.content_type)
        try:
            codecs.lookup(charset)
        except LookupError as e:
            raise _reject(f"unknown charset {charset!r}") from e
        try:
            message.body.decode(charset)
        except UnicodeDecodeError as e:
            raise _reject(f"not {charset} text: {e.reason} at byte {e.start}") from e


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
        return _load_json(message.body)
    try:
        return json.loads(message.body)
    except (ValueError, RecursionError) as e:
        raise _reject(
            f"a schema validates JSON or YAML; this {message.media_type} payload is not JSON"
        ) from e


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError as e:
        raise _reject("JSON nested too deeply") from e
    except ValueError as e:
        raise _reject(f"not well-formed JSON: {e}") from e


def _load_xml(body: bytes) -> etree._Element:
    try:
        return xmlsafe.parse(body)
    except xmlsafe.XmlRefused as e:
        raise _reject(e.reason) from e


def _load_yaml(body: bytes) -> Any:
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as e:
        raise _reject(f"not well-formed YAML: {e}".replace("\n", " ")) from e


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
            raise _reject("YAML with a recursive alias")
        in_progress.add(key)
        members = node.values() if isinstance(node, dict) else node
        total = 1 + sum(size(m) for m in members)
        in_progress.discard(key)
        if total > MAX_YAML_NODES:
            raise _reject(f"YAML whose aliases expand beyond {MAX_YAML_NODES} nodes")
        sizes[key] = total
        return total

    try:
        size(value)
    except RecursionError as e:
        raise _reject("YAML nested too deeply") from e


# --- converters -----------------------------------------------------------------------------


def _check_root(args: Mapping[str, Any]) -> None:
    root = args.get("root", "root")
    if not isinstance(root, str) or not jsonxml.is_name(root):
        raise ArgumentError("root", f"{root!r} is not an XML element name")


class JsonToXml:
    """JSON to XML by SPEC §3's mapping (see `repository.jsonxml`)."""

    def __init__(self, root: str = "root") -> None:
        _check_root({"root": root})
        self._root = root

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _check_root(args)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        return Message(await offload(len(message.body), self._convert, message.body), XML)

    def _convert(self, body: bytes) -> bytes:
        value = _load_json(body)
        try:
            return jsonxml.json_to_xml(value, self._root)
        except jsonxml.JsonXmlError as e:
            raise _reject(e.reason) from e

    def size_bytes(self) -> int:
        return sys.getsizeof(self)


class XmlToJson:
    """XML to JSON, the inverse of `json_to_xml` (see `repository.jsonxml`)."""

    def __init__(self, root: str = "root") -> None:
        _check_root({"root": root})
        self._root = root

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _check_root(args)

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        return Message(await offload(len(message.body), self._convert, message.body), JSON)

    def _convert(self, body: bytes) -> bytes:
        value = jsonxml.xml_to_json(_load_xml(body), self._root)
        return json.dumps(value, ensure_ascii=False).encode()

    def size_bytes(self) -> int:
        return sys.getsizeof(self)


# --- xml_validator --------------------------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"


class XmlValidator:
    """Validates an XML payload against an XML Schema (XSD) given as text."""

    def __init__(self, xsd: str) -> None:
        self._source = xsd
        self._pool = _Pool(lambda: _compile_xsd(xsd), _compile_xsd(xsd))

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _compile_xsd(args.get("xsd", ""))

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        await offload(len(message.body), self._validate, message.body)
        return message

    def _validate(self, body: bytes) -> None:
        document = _load_xml(body)
        with self._pool.take() as schema:
            if schema.validate(document):
                return
            errors = list(schema.error_log)
        first = errors[0]
        more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
        raise _reject(f"line {first.line}: {first.message}{more}")

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + _cost(XSD_COST, self._source) * self._pool.size


def _compile_xsd(text: Any) -> etree.XMLSchema:
    """A self-contained XML Schema; ArgumentError when it cannot be compiled or would fetch."""
    if not isinstance(text, str) or not text.strip():
        raise ArgumentError("xsd", "the text of an XML Schema")
    try:
        document = xmlsafe.parse_text(text)
    except xmlsafe.XmlRefused as e:
        raise ArgumentError("xsd", e.reason) from e
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

    `xsl:include`/`xsl:import` are refused when the stylesheet compiles (422
    `/invalid-parameter`); `document()` and extension elements that write files are
    refused when they run (422 `/stage-rejected`): they only fail where they are reached.
    The output is typed by `xsl:output`: its `media-type` if given, else `text/plain` for
    method `text`, `text/html` for `html`, `application/xml` otherwise.
    """

    def __init__(self, stylesheet: str) -> None:
        self._source = stylesheet
        first, self.media_type = _compile_xslt(stylesheet)
        self._pool = _Pool(lambda: _compile_xslt(stylesheet)[0], first)

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        _compile_xslt(args.get("stylesheet", ""))

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        # Always in a thread: a stylesheet's recursion can cost seconds on a tiny document.
        body = await offload(len(message.body), self._transform, message.body, bounded=False)
        return Message(body, self.media_type)

    def _transform(self, body: bytes) -> bytes:
        document = _load_xml(body)
        with self._pool.take() as transform:
            try:
                result = transform(document)
            except etree.XSLTApplyError as e:
                details = [m.message for m in transform.error_log if m.message != str(e)]
                raise _reject("; ".join([f"the stylesheet failed: {e}", *details[-2:]])) from e
        if result.getroot() is None and not str(result):
            return b""
        return bytes(memoryview(result))

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + _cost(XSLT_COST, self._source) * self._pool.size


def _compile_xslt(text: Any) -> tuple[etree.XSLT, str]:
    """The compiled stylesheet and its output's media type; ArgumentError."""
    if not isinstance(text, str) or not text.strip():
        raise ArgumentError("stylesheet", "the text of an XSLT stylesheet")
    try:
        document = xmlsafe.parse_text(text)
    except xmlsafe.XmlRefused as e:
        raise ArgumentError("stylesheet", e.reason) from e
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


# --- entries --------------------------------------------------------------------------------

JSON = "application/json"
XML = "application/xml"


def _entry(
    cls: type,
    name: str,
    description: str,
    params: dict[str, dict[str, Any]],
    input: tuple[str, ...] = ("*/*",),
    output: str = mediatype.SAME,
    converter: bool = False,
) -> ServiceEntry:
    return ServiceEntry(
        name=name,
        version="1.0.0",
        kind="python",
        target={"callable": f"repository.builtins:{cls.__name__}"},
        description=description,
        params=params,
        input=input,
        output=output,
        converter=converter,
    )


ROOT_PARAM = {
    "type": "string",
    "default": "root",
    "description": "The wrapper element for what is not a single-key object.",
}

BUILTIN_ENTRIES: tuple[ServiceEntry, ...] = (
    _entry(
        Logger,
        "logger",
        "Logs each message (method, path, media type, size, request id) and passes it on; "
        "with `file`, also appends the line to that file in [services.logger] dir.",
        {
            "level": {"type": "string", "enum": list(LEVELS), "default": "INFO"},
            "file": {
                "type": ["string", "null"],
                "default": None,
                "maxLength": 255,
                "pattern": LOG_FILE_PATTERN,
                "description": "A file name inside the log folder; no absolute path, no '..'.",
            },
        },
    ),
    _entry(
        Validator,
        "validator",
        "Checks the payload: with `schema` (a JSON Schema as JSON text), that it is JSON or "
        "YAML valid against it; without, that it is well-formed for its media type.",
        {"schema": {"type": ["string", "null"], "default": None}},
    ),
    _entry(
        JsonToXml,
        "json_to_xml",
        "Converts JSON to XML: keys are elements, lists repeated elements, `@name` "
        "attributes, `#text` text; a single-key object is the root element.",
        {"root": ROOT_PARAM},
        input=(JSON,),
        output=XML,
        converter=True,
    ),
    _entry(
        XmlToJson,
        "xml_to_json",
        "Converts XML to JSON, the inverse of json_to_xml; text is read as strings.",
        {"root": ROOT_PARAM},
        input=(XML,),
        output=JSON,
        converter=True,
    ),
    _entry(
        XmlValidator,
        "xml_validator",
        "Validates XML against an XML Schema given as text in `xsd`; the schema must be "
        "self-contained (nothing is fetched).",
        {"xsd": {"type": "string", "minLength": 1}},
        input=(XML,),
    ),
    _entry(
        Xslt,
        "xslt",
        "Transforms XML with an XSLT 1.0 stylesheet given as text in `stylesheet`, with no "
        "access to files, the network or extension functions.",
        {"stylesheet": {"type": "string", "minLength": 1}},
        input=(XML,),
        output=XML,
    ),
)
