"""Reading an OpenAPI document (SPEC §5, seed 003), as the importer takes it: YAML or JSON
parsed safely and bounded, `$ref`s resolved by `referencing` within the document, the
documents given beside it or, for a URL import, its own origin (never `file:`, never
another host), schemas inlined and 3.0's words made JSON Schema 2020-12's, and what a
strict validator (openapi-spec-validator, held to the same references) flags kept as
warnings. `repository.openapi` makes entries of what this reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from igwcore.problems import InvalidEntry

__all__ = ["OpenApiDocument", "Unresolved", "parse_text", "read_document"]

SYNTHETIC_BASE = "http://document.invalid/openapi"
MAX_DEPTH = 32  # nested schemas inlined, at most
MAX_NODES = 2_000_000  # values in a document; and inlined into one import's schemas
MAX_WARNINGS = 50
STRICT_MAX_CHARS = 1_000_000


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps every scalar a string YAML would guess at (`on`, dates) as
    JSON would read it: dates stay strings, as the document's author wrote them."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_text(text: str, where: str) -> Any:
    """A YAML or JSON document's value; 422 naming `where` when it is neither, or when it
    holds more than `MAX_NODES` values once YAML's aliases are counted where they stand
    (a document of aliases of aliases is small as text and vast as a tree)."""
    try:
        if text.lstrip().startswith("{"):
            value = json.loads(text)
        else:
            value = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except (ValueError, yaml.YAMLError) as e:
        reason = f"neither JSON nor YAML: {str(e).splitlines()[0][:300]}"
        raise InvalidEntry(
            f"{where} cannot be read: {reason}", errors=[{"field": where, "reason": reason}]
        ) from None
    if not _within(value, MAX_NODES):
        reason = f"more than {MAX_NODES} values, its aliases expanded"
        raise InvalidEntry(
            f"{where} cannot be read: {reason}", errors=[{"field": where, "reason": reason}]
        )
    return value


def _within(value: Any, limit: int) -> bool:
    """Whether `value` has at most `limit` values, each counted wherever it stands."""
    stack, count = [value], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return False
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


@dataclass
class OpenApiDocument:
    """A parsed document, its base URI, and how its references are found."""

    spec: dict[str, Any]
    base: str  # what relative references resolve against
    url: str | None  # where it was fetched from, or its base_url; None: no location
    retrieve: Callable[[str], str]  # the text of another document, by absolute URI
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        def resource(uri: str) -> Resource[Any]:
            return Resource.opaque(parse_text(self.retrieve(uri), uri))

        self.registry: Registry[Any] = Registry(retrieve=resource).with_resource(  # type: ignore[call-arg]
            self.base, Resource.opaque(self.spec)
        )

    @property
    def version(self) -> str:
        return str(self.spec.get("openapi", ""))

    def warn(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)

    def deref(self, node: Any, base: str, where: str) -> tuple[Any, str]:
        """`node` with its own `$ref` followed (repeatedly), and the base of what it is."""
        seen = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            seen += 1
            if seen > MAX_DEPTH:
                raise Unresolved(where, "a $ref that refers to itself")
            ref = str(node["$ref"])
            node, base = self._lookup(ref, base, where)
        return node, base

    def _lookup(self, ref: str, base: str, where: str) -> tuple[Any, str]:
        target = urljoin(base, ref)
        if urlsplit(target).scheme == "file":
            raise Unresolved(where, f"{ref}: file: references are never followed")
        try:
            resolved = self.registry.resolver(base_uri=base).lookup(ref)
        except Unresolvable as e:
            raise Unresolved(where, f"{ref} cannot be resolved ({type(e).__name__})") from None
        except InvalidEntry as e:
            raise Unresolved(where, f"{ref}: {e.detail}") from None
        return resolved.contents, target.split("#", 1)[0]

    def schema(self, node: Any, base: str, where: str, depth: int = 0) -> Any:
        """A schema with every `$ref` inlined, as the validator runs it (3.0 converted)."""
        if depth > MAX_DEPTH:
            self.warn(f"{where}: nested more than {MAX_DEPTH} deep; the rest accepts anything")
            return {}
        self._inlined += 1
        if self._inlined > MAX_NODES:
            raise Unresolved(where, f"more than {MAX_NODES} values once its $refs are inlined")
        if isinstance(node, list):
            return [self.schema(v, base, where, depth + 1) for v in node]
        if not isinstance(node, Mapping):
            return node
        if isinstance(node.get("$ref"), str):
            ref = str(node["$ref"])
            if (base, ref) in self._inlining:
                return {}  # recursive: cut where it recurs
            self._inlining.add((base, ref))
            try:
                target, target_base = self._lookup(ref, base, where)
                return self.schema(target, target_base, where, depth + 1)
            finally:
                self._inlining.discard((base, ref))
        out = {k: self.schema(v, base, where, depth + 1) for k, v in node.items()}
        return _from_30(out) if self.version.startswith("3.0") else out

    _inlining: set[tuple[str, str]] = field(default_factory=set)
    _inlined: int = 0


class Unresolved(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason


def _from_30(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0's schema words as JSON Schema 2020-12 says them."""
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            schema["type"] = [*kind, "null"]
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    for word, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(word)
        if isinstance(flag, bool):
            del schema[word]
            if flag and bound in schema:
                schema[word] = schema.pop(bound)
    return schema


def read_document(
    text: str,
    *,
    url: str | None,
    documents: Mapping[str, str],
    fetch: Callable[[str], bytes] | None,
) -> OpenApiDocument:
    """Parse a document; its references may reach `documents` (relative paths, resolved
    against `url`) and, with `fetch`, other documents of `url`'s origin."""
    spec = parse_text(text, "document")
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3."):
        reason = "not an OpenAPI 3 document (no 'openapi: 3.x' at its top)"
        raise InvalidEntry(
            f"the document cannot be imported: {reason}",
            errors=[{"field": "document", "reason": reason}],
        )
    base = url or SYNTHETIC_BASE
    given = {urljoin(base, path).split("#", 1)[0]: body for path, body in documents.items()}
    origin = _origin(url) if url else None

    def retrieve(uri: str) -> str:
        if uri in given:
            return given[uri]
        if fetch is not None and origin is not None and _origin(uri) == origin:
            return fetch(uri).decode("utf-8")
        raise LookupError(f"{uri} is not among the documents given")

    document = OpenApiDocument(spec=spec, base=base, url=url, retrieve=retrieve)
    if len(text) <= STRICT_MAX_CHARS:
        _validate(document)
    else:  # the strict validator takes minutes over the largest real documents
        document.warn(f"not validated strictly: {len(text)} characters, over {STRICT_MAX_CHARS}")
    return document


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _validate(document: OpenApiDocument) -> None:
    """What a strict validator flags, as warnings: real documents are taken as they are."""
    strict = (
        OpenAPIV30SpecValidator if document.version.startswith("3.0") else OpenAPIV31SpecValidator
    )

    def fetched(uri: str) -> Any:
        return parse_text(document.retrieve(uri.split("#", 1)[0]), uri)

    def refused(uri: str) -> Any:
        raise LookupError(f"{uri}: file: references are never followed")

    # The validator follows references by itself: only where the import may (the given
    # documents, the same origin), never a file or another host.
    validator = type(
        "Validator",
        (strict,),
        {"resolver_handlers": {"http": fetched, "https": fetched, "file": refused}},
    )
    try:
        errors = validator(document.spec, base_uri=document.base).iter_errors()
        for error in errors:
            path = "/".join(str(p) for p in getattr(error, "absolute_path", ()))
            document.warn(f"{path or 'document'}: {str(getattr(error, 'message', error))[:300]}")
            if len(document.warnings) >= MAX_WARNINGS:
                break
    except Exception as e:  # the validator's own failure on an odd document is a warning too
        document.warn(f"the validator could not finish: {type(e).__name__}: {str(e)[:200]}")
