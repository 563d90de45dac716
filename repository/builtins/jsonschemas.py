"""A client's JSON Schema (the `validator` built-in's `schema`), compiled so that its
regular expressions run in linear time.

jsonschema runs `pattern`, `patternProperties` (and the `additionalProperties` that
looks at them) with Python's backtracking `re`: a 27-character pattern can then take
seconds per string, doubling with each character more. Here those keywords run on RE2,
whose matching is linear in the input; a pattern RE2 cannot run (a lookaround, a
backreference) is refused when the schema is compiled, as 422 /invalid-parameter
(SPEC §10.4). `$ref`s to other documents are never fetched (an empty registry).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import re2
import referencing
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from igwcore.problems import ArgumentError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the client's 422, not the log's
# Keywords whose values are data, not schemas: a "pattern" key inside them is no pattern.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


def compile_schema(text: str) -> Validator | None:
    """The validator for a schema given as JSON text (None for `null`); ArgumentError
    naming `schema` when it is not JSON, not a schema, or has a pattern RE2 refuses."""
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ArgumentError("schema", f"not JSON: {e}") from e
    if schema is None:
        return None
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        base.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise ArgumentError("schema", f"not a valid JSON Schema: {e.message}") from e
    except RecursionError as e:
        raise ArgumentError("schema", "nested too deeply") from e
    for pattern in patterns(schema):
        try:
            regex(pattern)
        except re2.error as e:
            raise ArgumentError(
                "schema",
                f"the pattern {pattern!r} cannot run in linear time ({_message(e)}): "
                "lookarounds and backreferences are not supported",
            ) from e
    cls = _linear(base)
    return cls(schema, registry=referencing.Registry(), format_checker=cls.FORMAT_CHECKER)


def patterns(schema: Any) -> Iterator[str]:
    """Every regular expression of a schema (`pattern`, `patternProperties`'s keys), found
    without recursion."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        if isinstance(node.get("patternProperties"), dict):
            yield from node["patternProperties"]
        stack.extend(v for k, v in node.items() if k not in _DATA_KEYWORDS)


@functools.lru_cache(maxsize=4096)
def regex(pattern: str) -> Any:
    """`pattern` compiled by RE2 (raises re2.error for one it cannot run)."""
    return re2.compile(pattern, _OPTIONS)


def _message(error: re2.error) -> str:
    text = error.args[0] if error.args else ""
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


@functools.cache
def _linear(base: type[Validator]) -> type[Validator]:
    """`base` (a draft's validator class) with its regular-expression keywords on RE2."""
    return jsonschema.validators.extend(
        base,
        validators={
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )


def _pattern(validator: Validator, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = regex(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Validator, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    """jsonschema's own keyword, with its look at `patternProperties` on RE2."""
    if not validator.is_type(instance, "object"):
        return
    extras = set(_additional(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            regexes = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {regexes}")
        else:
            listed = ", ".join(repr(each) for each in sorted(extras, key=str))
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({listed} {verb} unexpected)"
            )


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[str]:
    properties = schema.get("properties", {})
    compiled = [regex(p) for p in schema.get("patternProperties", {})]
    for key in instance:
        if key not in properties and not any(c.search(key) for c in compiled):
            yield key
