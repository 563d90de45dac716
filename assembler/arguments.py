"""A stage's arguments (SPEC §2): strings coerced to their parameter's JSON Schema type,
validated, and completed with the defaults of the parameters not given."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import jsonschema
from cachetools import LRUCache

from igwcore.problems import InvalidParameter
from repository.entry import ServiceEntry

# Placement hints for the http kind (SPEC §3), not validation keywords.
GATEWAY_KEYWORDS = frozenset({"in", "wire_name"})

# A JSON number, so `2`, `-0.5` and `1e3` parse but `0x10`, `1_000`, `inf` and `nan` do not.
NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Beyond this many digits an "integer" is a header trying to make the gateway build a huge int.
MAX_INTEGER_DIGITS = 4300


class _NoMatch(Exception):
    """The value is not of the type being tried."""


def _integer(value: str) -> int:
    if not NUMBER_RE.fullmatch(value):
        raise _NoMatch
    number = Decimal(value)
    if number != number.to_integral_value() or number.adjusted() >= MAX_INTEGER_DIGITS:
        raise _NoMatch
    return int(number)


def _number(value: str) -> int | float:
    if not NUMBER_RE.fullmatch(value):
        raise _NoMatch
    if value.lstrip("-").isdigit() and len(value) <= MAX_INTEGER_DIGITS:
        return int(value)  # as JSON would: `2` stays an integer
    number = float(value)
    if not math.isfinite(number):
        raise _NoMatch
    return number


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise _NoMatch
    return value == "true"


def _null(value: str) -> None:
    if value != "null":
        raise _NoMatch


def _json(kind: type) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            result = json.loads(value, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as e:
            raise _NoMatch from e
        if not isinstance(result, kind):
            raise _NoMatch
        return result

    return parse


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


COERCIONS: Mapping[str, Callable[[str], Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "null": _null,
    "object": _json(dict),
    "array": _json(list),
    "string": str,
}


def coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """The value as the first type of the schema's `type` it parses as.

    Without a `type` the string is kept; when no listed type takes it, the string is kept
    too, so that validation reports it in jsonschema's words.
    """
    types = schema.get("type")
    if types is None:
        return value
    for name in [types] if isinstance(types, str) else types:
        parse = COERCIONS.get(name)
        if parse is None:
            continue
        try:
            return parse(value)
        except _NoMatch:
            continue
    return value


def validation_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter's schema without the gateway's own keywords."""
    return {k: v for k, v in schema.items() if k not in GATEWAY_KEYWORDS}


# Validators made for parameters' schemas: an assembly validates every argument, and
# making a validator costs more than using one. By the schema object (entries live in the
# repository's index, so the same schema comes again), which the cache holds on to so
# that its id cannot be reused; at most 1024.
_VALIDATORS: LRUCache[int, tuple[Mapping[str, Any], jsonschema.protocols.Validator]] = LRUCache(
    maxsize=1024
)


def _validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    known = _VALIDATORS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    validator = jsonschema.Draft202012Validator(validation_schema(schema))
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


# Keywords that never make a value invalid; a schema of these and one `type` is checked
# by that type alone.
ANNOTATIONS = frozenset({"default", "description", "title", "examples", "$comment", "deprecated"})
_PYTHON_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _plainly_valid(value: Any, schema: Mapping[str, Any]) -> bool:
    """True when `value` is valid by a schema that says nothing but a simple `type`."""
    kind = schema.get("type")
    if not isinstance(kind, str) or kind not in _PYTHON_TYPES:
        return False
    if any(k != "type" and k not in ANNOTATIONS and k not in GATEWAY_KEYWORDS for k in schema):
        return False
    return _PYTHON_TYPES[kind](value)


def validate(name: str, value: Any, schema: Mapping[str, Any], *, stage: int) -> None:
    """Raise 422 /invalid-parameter with jsonschema's message when `value` does not fit.

    Draft 2020-12 as written: `format` is an annotation, not an assertion.
    """
    if _plainly_valid(value, schema):
        return
    validator = _validator(schema)
    if validator.is_valid(value):
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        raise InvalidParameter(
            f"stage {stage}: argument {name!r} is invalid: {error.message}",
            stage=stage,
            parameter=name,
            reason=error.message,
        )


def bind(entry: ServiceEntry, given: Mapping[str, str], *, stage: int) -> dict[str, Any]:
    """The coerced, validated arguments for `entry`, defaults filled in for those not given.

    `given` must only name parameters of `entry` (resolution matched it so). Defaults are
    the entry's own and are not validated again: an imported SOAP parameter defaults to
    null whatever its type, meaning "the payload supplies it".
    """
    args: dict[str, Any] = {}
    for name, schema in entry.params.items():
        if name in given:
            value = coerce(given[name], schema)
            validate(name, value, schema, stage=stage)
            args[name] = value
        elif "default" in schema:
            args[name] = copy.deepcopy(schema["default"])
    return args
