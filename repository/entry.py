"""The service entry of SPEC §3: one frozen value, validated once when it enters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from gateway import mediatype
from gateway.problems import InvalidEntry, schema_error_field

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
    },
}
_ENTRY_VALIDATOR = jsonschema.Draft202012Validator(ENTRY_SCHEMA)


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
    def from_json(cls, data: Any) -> ServiceEntry:
        """Validate a JSON entry (admin API, service file, importer); 422 naming each field."""
        if not isinstance(data, dict):
            raise InvalidEntry(
                "a service entry is a JSON object",
                errors=[{"field": "", "reason": "not an object"}],
            )
        errors = [
            {"field": schema_error_field(e), "reason": e.message}
            for e in _ENTRY_VALIDATOR.iter_errors(data)
        ]
        if not errors:
            errors = _semantic_errors(data)
        if errors:
            raise InvalidEntry(
                f"the service entry is invalid: {errors[0]['field']}: {errors[0]['reason']}",
                errors=errors,
            )
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

    def with_changes(self, **changes: Any) -> ServiceEntry:
        data = {**self.to_json(), **changes}
        return ServiceEntry.from_json(data)


def _semantic_errors(data: dict[str, Any]) -> list[dict[str, str]]:
    from appserver.kinds import KINDS  # kinds own their target schemas

    errors: list[dict[str, str]] = []
    kind = KINDS.get(data["kind"])
    if kind is None:
        errors.append({"field": "kind", "reason": f"must be one of {sorted(KINDS)}"})
    else:
        for e in jsonschema.Draft202012Validator(kind.target_schema).iter_errors(data["target"]):
            path = schema_error_field(e)
            errors.append({"field": "target" + ("/" + path if path else ""), "reason": e.message})
    for name, schema in data.get("params", {}).items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            errors.append({"field": f"params/{name}", "reason": e.message})
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
    if output != mediatype.SAME and not _is_media_type(output):
        errors.append({"field": "output", "reason": f"a media type or 'same': {output!r}"})
    if data.get("converter") and output == mediatype.SAME:
        errors.append({"field": "output", "reason": "a converter names its output type"})
    return errors


def _is_media_type(value: str) -> bool:
    return bool(MEDIA_RE.match(value)) or value.lower() in mediatype.ALIASES
