"""OpenAPI import (SPEC §5, seed 003): an OpenAPI 3.0 or 3.1 document, YAML or JSON, as one
`http` entry per operation.

Documents are read as they are: PyYAML's safe loader (JSON is YAML), `$ref`s resolved by
`referencing` (the resolver jsonschema runs on) within the document, the `documents`
given beside it, or — for a document fetched by URL — the same origin under the fetch
policy; never `file:`. openapi-spec-validator says what a strict reading would flag,
which comes back as the import's `warnings`; only what stops an entry from being made
is a 422. Decisions where SPEC is silent:

- Parameters: path-level and operation-level, the latter winning by (`name`, `in`);
  `Accept`, `Content-Type` and `Authorization` header parameters are ignored, as OpenAPI
  says. A name that is not an ident (`$top`, `page[size]`) becomes one and keeps its
  own as `wire_name`. An optional parameter without a default gets `default: null`, so
  that it is not sent unless given. Its schema is inlined (`$ref`s followed, a recursive
  one cut to `{}` at the point it recurs), converted from 3.0 (`nullable`, boolean
  `exclusiveMinimum`/`exclusiveMaximum`) to the JSON Schema 2020-12 the validator runs,
  with the parameter's `description`.
- Input: the request body's media types (several allowed); without a request body the
  operation sends none (`target.body: false`) and takes any input. Output: the first
  media type of the lowest 2xx answer; `*/*` when that answer has no content (a 204) or
  there is no 2xx.
- Server: `server_url` when given, else the first of `servers` with its variables'
  defaults, relative to the document's own URL. None (or a relative one with no URL to
  stand on): the entries are disabled, their URL on `server-url-not-set.invalid`.
- Version: the import's `version`, else `info.version` (characters a version may not
  hold become `-`), else `1.0.0`. Prefix: the import's, else a slug of `info.title`.
- Methods: GET, PUT, POST, DELETE, PATCH, HEAD and OPTIONS; a TRACE operation is left
  out with a warning. Callbacks and webhooks are not imported.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import jsonschema

from igwcore.problems import InvalidEntry
from repository.entry import MEDIA_RE, VERSION_RE, ServiceEntry, TargetCheck
from repository.fetch import FetchPolicy, FetchRefused, GuardedTransport, WsdlUnavailable
from repository.import_record import ImportRecord
from repository.names import ident, ident_name, slug, unique
from repository.openapi_document import (
    MAX_WARNINGS,
    OpenApiDocument,
    Unresolved,
    read_document,
)
from repository.validation import schema_problem

__all__ = ["OpenApiImport", "entries_from", "import_openapi"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
NO_SERVER = "http://server-url-not-set.invalid"
DESCRIPTION_CHARS = 2000
_NOT_VERSION = re.compile(r"[^A-Za-z0-9._+-]+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


# -- entries -----------------------------------------------------------------------------


def entries_from(
    document: OpenApiDocument,
    *,
    prefix: str | None,
    version: str | None,
    server_url: str | None,
    connection: str | None,
    reserved: Collection[str],
    check_target: TargetCheck,
) -> list[ServiceEntry]:
    """One `http` entry per operation under `paths`, in document order."""
    spec = document.spec
    info = spec.get("info") if isinstance(spec.get("info"), Mapping) else {}
    stem = ident_name(prefix if prefix is not None else slug(str(info.get("title", ""))) or "api")
    version = version or _version(str(info.get("version", "")), document) or "1.0.0"
    server = _server(document, server_url)
    taken = set(reserved)
    entries: list[ServiceEntry] = []
    errors: list[dict[str, str]] = []
    paths = spec.get("paths") if isinstance(spec.get("paths"), Mapping) else {}
    for path, item in paths.items():
        where = f"paths/{path}"
        try:
            item, base = document.deref(item, document.base, where)
        except Unresolved as e:
            errors.append({"field": e.where, "reason": e.reason})
            continue
        if not isinstance(item, Mapping):
            continue
        if "trace" in item:
            document.warn(f"{where}/trace: TRACE operations are not imported")
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            at = f"{where}/{method}"
            try:
                own = operation.get("servers") or item.get("servers")
                here = server
                if own and not server_url:  # a path's or an operation's own servers
                    here = _server(document, None, own, f"{at}/servers")
                data = _entry(document, str(path), method, item, operation, base, at, here)
            except Unresolved as e:
                errors.append({"field": e.where, "reason": e.reason})
                continue
            data["name"] = unique(f"{stem}.{ident_name(data.pop('_name'))}", taken)
            data["version"] = version
            if connection:
                data["target"]["connection"] = connection
            try:
                entries.append(ServiceEntry.from_json(data, check_target=check_target))
            except InvalidEntry as e:
                for error in e.members["errors"]:
                    errors.append({"field": f"{at}/{error['field']}", "reason": error["reason"]})
    if errors:
        raise InvalidEntry(
            f"entries cannot be made: {errors[0]['field']}: {errors[0]['reason']}",
            errors=errors[:MAX_WARNINGS],
        )
    if not entries:
        reason = "the document has no operations under paths"
        raise InvalidEntry(reason, errors=[{"field": "paths", "reason": reason}])
    return entries


def _version(text: str, document: OpenApiDocument) -> str:
    cleaned = _NOT_VERSION.sub("-", text.strip()).strip("-")
    if cleaned and cleaned != text:
        document.warn(f"info/version {text!r} is used as {cleaned!r}")
    return cleaned if VERSION_RE.match(cleaned or "-") else ""


def _server(
    document: OpenApiDocument, server_url: str | None, servers: Any = None, where: str = ""
) -> str | None:
    """The API's base URL without a trailing slash, or None when there is none: the
    import's `server_url`, else the first of `servers` (a path's or an operation's own),
    else of the document's."""
    if server_url:
        return server_url.rstrip("/")
    if servers is None:
        servers = document.spec.get("servers")
        where = "servers"
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], Mapping):
        document.warn("the document names no servers: entries are disabled until a base URL is set")
        return None
    first = servers[0]
    url = str(first.get("url", ""))
    variables = first.get("variables") if isinstance(first.get("variables"), Mapping) else {}
    for name, variable in variables.items():
        default = variable.get("default", "") if isinstance(variable, Mapping) else ""
        url = url.replace("{" + str(name) + "}", str(default))
    if not urlsplit(url).scheme:
        if document.url is None:
            document.warn(f"{where}/0 {url!r} is relative and the document has no URL")
            return None
        url = urljoin(document.url, url)
    if urlsplit(url).scheme not in ("http", "https"):
        document.warn(f"{where}/0 {url!r} is not http or https: entries are disabled")
        return None
    return url.rstrip("/")


def _entry(
    document: OpenApiDocument,
    path: str,
    method: str,
    item: Mapping[str, Any],
    operation: Mapping[str, Any],
    base: str,
    at: str,
    server: str | None,
) -> dict[str, Any]:
    operation_id = operation.get("operationId")
    name = str(operation_id) if operation_id else _NOT_NAME.sub("_", f"{method}_{path}").strip("_")
    summary = " ".join(
        str(operation.get(k, "")).strip() for k in ("summary", "description") if operation.get(k)
    )
    params = _params(document, item, operation, base, at, path)
    inputs, sends_body = _inputs(document, operation, base, at)
    target: dict[str, Any] = {"url": (server or NO_SERVER) + path, "method": method.upper()}
    if not sends_body:
        target["body"] = False
    return {
        "_name": name,
        "description": (summary or f"{method.upper()} {path}")[:DESCRIPTION_CHARS],
        "kind": "http",
        "params": params,
        "input": inputs,
        "output": _output(document, operation, base, at),
        "target": target,
        "enabled": server is not None,
    }


def _params(
    document: OpenApiDocument,
    item: Mapping[str, Any],
    operation: Mapping[str, Any],
    base: str,
    at: str,
    path: str,
) -> dict[str, dict[str, Any]]:
    chosen: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
    for level in (item.get("parameters"), operation.get("parameters")):
        for i, raw in enumerate(level if isinstance(level, list) else []):
            param, param_base = document.deref(raw, base, f"{at}/parameters/{i}")
            if not isinstance(param, Mapping) or "name" not in param or "in" not in param:
                document.warn(f"{at}/parameters/{i}: not a parameter (no name or in)")
                continue
            chosen[(str(param["name"]), str(param["in"]))] = (param, param_base)
    placeholders = set(re.findall(r"\{([^{}/]+)\}", path))
    out: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for (wire, where), (param, param_base) in chosen.items():
        here = f"{at}/parameters/{wire}"
        if where not in ("path", "query", "header", "cookie"):
            document.warn(f"{here}: 'in: {where}' is not a place a parameter goes; left out")
            continue
        if where == "header" and wire.lower() in IGNORED_HEADERS:
            continue
        if where == "path" and wire not in placeholders:
            document.warn(f"{here}: the path has no {{{wire}}}; left out")
            continue
        schema = _param_schema(document, param, param_base, here)
        schema["in"] = where
        key = unique(ident(wire), taken)
        if key != wire:
            schema["wire_name"] = wire
        if param.get("description"):
            schema.setdefault("description", str(param["description"])[:DESCRIPTION_CHARS])
        required = bool(param.get("required")) or where == "path"
        _checked(document, schema, here)
        if not required and "default" not in schema:
            schema["default"] = None
        out[key] = schema
    return out


def _checked(document: OpenApiDocument, schema: dict[str, Any], where: str) -> None:
    """Make `schema` one the validator can run, in place: a schema JSON Schema refuses
    takes anything; a default its own schema refuses is left out (real documents have
    both, and neither should cost the whole import)."""
    problem = schema_problem(schema)
    if problem is not None:
        kept = {k: schema[k] for k in ("in", "wire_name", "description", "default") if k in schema}
        schema.clear()
        schema.update(kept)
        document.warn(
            f"{where}: its schema is not one JSON Schema can run ({problem[:200]}); "
            "it takes any value"
        )
    default = schema.get("default")
    if default is not None and not jsonschema.Draft202012Validator(schema).is_valid(default):
        document.warn(f"{where}: its default {default!r} fails its own schema; left out")
        del schema["default"]


def _param_schema(
    document: OpenApiDocument, param: Mapping[str, Any], base: str, where: str
) -> dict[str, Any]:
    raw = param.get("schema")
    if raw is None and isinstance(param.get("content"), Mapping) and param["content"]:
        first = next(iter(param["content"].values()))
        raw = first.get("schema") if isinstance(first, Mapping) else None
    schema = document.schema(raw if raw is not None else {}, base, where)
    if not isinstance(schema, dict):
        document.warn(f"{where}: its schema is not an object; it takes anything")
        return {}
    return copy.deepcopy(schema)


def _inputs(
    document: OpenApiDocument, operation: Mapping[str, Any], base: str, at: str
) -> tuple[list[str], bool]:
    """The request body's media types, and whether the operation sends a body at all."""
    raw = operation.get("requestBody")
    if raw is None:
        return ["*/*"], False
    body, _ = document.deref(raw, base, f"{at}/requestBody")
    content = body.get("content") if isinstance(body, Mapping) else None
    if not isinstance(content, Mapping) or not content:
        return ["*/*"], True
    types = [str(t) for t in content if MEDIA_RE.match(str(t))]
    for t in content:
        if not MEDIA_RE.match(str(t)):
            document.warn(f"{at}/requestBody: {t!r} is not a media type; left out")
    return (types or ["*/*"]), True


def _output(document: OpenApiDocument, operation: Mapping[str, Any], base: str, at: str) -> str:
    raw = operation.get("responses")
    if not isinstance(raw, Mapping):
        return "*/*"
    responses = {str(code).upper(): answer for code, answer in raw.items()}  # YAML: 200 is int
    codes = sorted((c for c in responses if c[:1] == "2"), key=lambda c: c.replace("X", "9"))
    if not codes:
        return "*/*"
    answer, _ = document.deref(responses[codes[0]], base, f"{at}/responses/{codes[0]}")
    content = answer.get("content") if isinstance(answer, Mapping) else None
    if not isinstance(content, Mapping) or not content:
        return "*/*"
    first = str(next(iter(content)))
    return first if MEDIA_RE.match(first) else "*/*"


# -- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenApiImport:
    """The result of an import: the entries, the warnings, and what a repository records."""

    source: str | None  # the URL fetched; None for a document
    base_url: str | None
    text: str  # the document's own text, fetched or given: a refresh or restart needs no host
    prefix: str | None
    version: str | None  # as given (None: info.version)
    options: Mapping[str, Any]  # server_url, documents, connection, refresh_s
    entries: tuple[ServiceEntry, ...]
    warnings: tuple[str, ...]

    def record(self, id: str | None = None) -> ImportRecord:
        record = ImportRecord(
            kind="openapi",
            document=self.text,
            url=self.source,
            base_url=self.base_url,
            prefix=self.prefix,
            version=self.version,
            options=dict(self.options),
        )
        return dataclasses.replace(record, id=id) if id is not None else record


def load(
    *,
    url: str | None,
    document: str | None,
    base_url: str | None,
    documents: Mapping[str, str],
    policy: FetchPolicy,
    mapped: Callable[[OpenApiDocument], list[ServiceEntry]],
) -> tuple[OpenApiDocument, str, list[ServiceEntry]]:
    """The document (fetched under `policy` when by URL), its text and `mapped(document)`,
    while references may still be fetched; in a thread."""
    transport = GuardedTransport(policy)
    try:
        parsed, text = _read(url, document, base_url, documents, transport)
        return parsed, text, mapped(parsed)
    finally:
        transport.close()


def _read(
    url: str | None,
    document: str | None,
    base_url: str | None,
    documents: Mapping[str, str],
    transport: GuardedTransport,
) -> tuple[OpenApiDocument, str]:
    if url is not None:
        try:
            text = transport.fetch(url).decode("utf-8")
        except (FetchRefused, WsdlUnavailable) as e:
            raise InvalidEntry(
                f"the document cannot be fetched: {e.reason}",
                errors=[{"field": "url", "reason": e.reason}],
            ) from None
        except UnicodeDecodeError:
            reason = "the document is not UTF-8 text"
            raise InvalidEntry(reason, errors=[{"field": "url", "reason": reason}]) from None
        return read_document(text, url=url, documents=documents, fetch=transport.fetch), text
    assert document is not None
    return read_document(document, url=base_url, documents=documents, fetch=None), document


async def import_openapi(
    *,
    url: str | None = None,
    document: str | None = None,
    base_url: str | None = None,
    documents: Mapping[str, str] | None = None,
    server_url: str | None = None,
    prefix: str | None = None,
    version: str | None = None,
    connection: str | None = None,
    refresh_s: float = 0,
    policy: FetchPolicy,
    check_target: TargetCheck,
    reserved: Collection[str] = (),
) -> OpenApiImport:
    """Read an OpenAPI document into one entry per operation; 422 when none can be made."""
    if (url is None) == (document is None):
        raise InvalidEntry(
            "an import takes either a url or a document",
            errors=[{"field": "url", "reason": "give url or document, not both or neither"}],
        )
    given = dict(documents or {})
    parsed, text, entries = await asyncio.to_thread(
        load,
        url=url,
        document=document,
        base_url=base_url,
        documents=given,
        policy=policy,
        mapped=lambda d: entries_from(
            d,
            prefix=prefix,
            version=version,
            server_url=server_url,
            connection=connection,
            reserved=reserved,
            check_target=check_target,
        ),
    )
    options: dict[str, Any] = {}
    for key, value in (
        ("server_url", server_url),
        ("documents", given),
        ("connection", connection),
        ("refresh_s", refresh_s),
    ):
        if value:
            options[key] = value
    return OpenApiImport(
        source=url,
        base_url=base_url,
        text=text,
        prefix=prefix,
        version=version,
        options=options,
        entries=tuple(entries),
        warnings=tuple(parsed.warnings),
    )
