"""JSON Schema validation errors as the `errors` of a 422 `/invalid-entry` (SPEC §2):
`[{"field", "reason"}]`, `field` a path into the document; and the validator the gateway
checks its own documents with (entries, policies)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from igwcore.problems import InvalidEntry

__all__ = ["StrictValidator", "error_field", "invalid", "schema_errors", "schema_problem"]


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool) or not isinstance(instance, int | float):
        return False
    return math.isfinite(instance)


# Draft 2020-12, where an `integer` is written as one (`2`, never `2.0` or `2e0`) and a
# `number` is finite (SPEC §10.8): what a client writes is what the gateway keeps.
StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


_CHECKED: dict[str, str | None] = {}


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema 2020-12 schema, or None; remembered by its text
    (an import checks the same few parameter schemas thousands of times)."""
    try:
        text = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        return "not JSON"
    if text in _CHECKED:
        return _CHECKED[text]
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        problem = None
    except jsonschema.SchemaError as e:
        problem = e.message
    if len(_CHECKED) < 4096:
        _CHECKED[text] = problem
    return problem


def schema_errors(validator: Validator, data: Any, *, prefix: str = "") -> list[dict[str, str]]:
    """Every way `data` fails `validator`, as `/invalid-entry` errors; `prefix` is the
    path of `data` in the document it belongs to (`target`, say)."""
    errors = []
    for error in validator.iter_errors(data):
        field = "/".join(p for p in (prefix, error_field(error)) if p)
        errors.append({"field": field, "reason": error.message})
    return errors


def error_field(error: ValidationError) -> str:
    """The `field` of one error: its path, plus the member that a `required` misses or an
    `additionalProperties` refuses."""
    path = [str(p) for p in error.absolute_path]
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [str(m) for m in error.validator_value if m not in instance]
        path.extend(missing[:1])
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [
            str(k)
            for k in instance
            if k not in known and not any(re.search(p, str(k)) for p in patterns)
        ]
        path.extend(extra[:1])
    return "/".join(path)


def invalid(what: str, errors: list[dict[str, str]]) -> InvalidEntry:
    """The 422 for `errors` (at least one) of the document `what` names, the first in
    its detail."""
    first = errors[0]
    where = f"{first['field']}: " if first["field"] else ""
    return InvalidEntry(f"{what}: {where}{first['reason']}", errors=errors)
