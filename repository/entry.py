"""The service entry of SPEC §3: one frozen value, validated once when it enters.

An entry's own shape (name, version, params, media types) is checked here; its `target`
belongs to its kind, and the kinds live above the repository: whoever takes an entry in
passes the kinds' check as `check_target` (`appserver.kinds.check_target`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from igwcore import mediatype
from igwcore.problems import InvalidEntry
from repository.validation import StrictValidator, invalid, schema_errors, schema_problem

TargetCheck = Callable[[str, Mapping[str, Any]], list[dict[str, str]]]
"""Checks a `kind` and its `target`: the `/invalid-entry` errors (fields `kind` and
`target/...`), none when both are right."""

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9._+-]+$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MEDIA_RE = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`~-]+/[A-Za-z0-9!#$%&'*+.^_`~-]+)(\s*;.*)?$")

ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "kind", "target"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string", "pattern": NAME_RE.pattern},
        "version": {"type": "string", "pattern": VERSION_RE.pattern},
        "description": {"type": "string"},
        "kind": {"type": "string"},
        "params": {
            "type": "object",
            "propertyNames": {"pattern": IDENT_RE.pattern},
            "additionalProperties": {"type": "object"},
        },
        "input": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "output": {"type": "string"},
        "converter": {"type": "boolean"},
        "target": {"type": "object"},
        "enabled": {"type": "boolean"},
        # Shown, never stored: why the gateway holds a stored entry back (SPEC §10.2).
        "held": {"type": "string", "readOnly": True},
    },
}
_ENTRY_VALIDATOR = StrictValidator(ENTRY_SCHEMA)


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    kind: str
    target: Mapping[str, Any] = field(hash=False)
    version: str = "1.0.0"
    id: str = ""
    description: str = ""
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)
    input: tuple[str, ...] = ("*/*",)
    output: str = mediatype.SAME
    converter: bool = False
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", f"{self.name}@{self.version}")

    @classmethod
    def from_json(cls, data: Any, *, check_target: TargetCheck) -> ServiceEntry:
        """Validate a JSON entry (admin API, service file, importer); 422 naming each field."""
        if not isinstance(data, dict):
            raise InvalidEntry(
                "a service entry is a JSON object",
                errors=[{"field": "", "reason": "not an object"}],
            )
        errors = schema_errors(_ENTRY_VALIDATOR, data)
        if not errors:
            errors = [*check_target(data["kind"], data["target"]), *_semantic_errors(data)]
        if errors:
            raise invalid("the service entry is invalid", errors)
        return cls(
            id=data.get("id", ""),
            name=data["name"],
            version=data.get("version", "1.0.0"),
            description=data.get("description", ""),
            kind=data["kind"],
            params={k: dict(v) for k, v in data.get("params", {}).items()},
            input=tuple(data.get("input", ["*/*"])),
            output=data.get("output", mediatype.SAME),
            converter=data.get("converter", False),
            target=dict(data["target"]),
            enabled=data.get("enabled", True),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "kind": self.kind,
            "params": {k: dict(v) for k, v in self.params.items()},
            "input": list(self.input),
            "output": self.output,
            "converter": self.converter,
            "target": dict(self.target),
            "enabled": self.enabled,
        }

    def candidate(self) -> dict[str, Any]:
        """The member of a 409's `candidates` list (SPEC §2)."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "params": sorted(self.params),
            "input": list(self.input),
            "output": self.output,
        }


def _semantic_errors(data: dict[str, Any]) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for name, schema in data.get("params", {}).items():
        problem = schema_problem(schema)
        if problem is not None:
            errors.append({"field": f"params/{name}", "reason": problem})
            continue
        if "default" in schema and schema["default"] is not None:
            problem = jsonschema.exceptions.best_match(
                jsonschema.Draft202012Validator(schema).iter_errors(schema["default"])
            )
            if problem is not None:
                errors.append({"field": f"params/{name}/default", "reason": problem.message})
        where = schema.get("in")
        if where is not None and where not in ("path", "query", "header", "cookie"):
            errors.append({"field": f"params/{name}/in", "reason": "path, query, header or cookie"})
    for i, media in enumerate(data.get("input", [])):
        if not _is_media_type(media):
            errors.append({"field": f"input/{i}", "reason": f"not a media type: {media!r}"})
    output = data.get("output", mediatype.SAME)
    if output not in (mediatype.SAME, mediatype.NONE) and not _is_media_type(output):
        errors.append({"field": "output", "reason": f"a media type, 'same' or 'none': {output!r}"})
    if data.get("converter") and output in (mediatype.SAME, mediatype.NONE):
        errors.append({"field": "output", "reason": "a converter names its output type"})
    return errors


def _is_media_type(value: str) -> bool:
    return bool(MEDIA_RE.match(value)) or value.lower() in mediatype.ALIASES
