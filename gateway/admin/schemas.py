"""The admin API described in OpenAPI 3 (`GET /openapi.json`)."""

from __future__ import annotations

from typing import Any

from appserver.purge import POLICY_SCHEMA
from repository.entry import ENTRY_SCHEMA

PROBLEM = {
    "description": "A problem (RFC 9457)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _items(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"items": {"type": "array", "items": _ref(name)}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**responses, "default": PROBLEM}}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names
    ]


def document() -> dict[str, Any]:
    entry = _json("A service entry", _ref("ServiceEntry"))
    changes = _json("Ids added, changed and removed", _ref("Changes"))
    no_content = {"204": {"description": "Done"}}
    sid, key = [_path_param("id")], [_path_param("key")]
    paths: dict[str, Any] = {
        "/services": {
            "get": _op(
                "List service entries",
                {"200": _json("Entries", _items("ServiceEntry"))},
                params=_query("name", "input", "output"),
            ),
            "post": _op("Register a service entry", {"201": entry}, body="ServiceEntry"),
        },
        "/services/{id}": {
            "get": _op("Read one entry", {"200": entry}, params=sid),
            "put": _op(
                "Replace one entry; undeploys applications using it",
                {"200": entry},
                body="ServiceEntry",
                params=sid,
            ),
            "delete": _op(
                "Remove one entry; undeploys applications using it", no_content, params=sid
            ),
        },
        "/services/{id}/disable": {
            "post": _op("Take an entry out of resolution", {"200": entry}, params=sid)
        },
        "/services/{id}/enable": {
            "post": _op("Put an entry back into resolution", {"200": entry}, params=sid)
        },
        "/services:reload": {
            "post": _op("Re-read the service files of [repository] service_dirs", {"200": changes})
        },
        "/imports": {
            "get": _op("Past imports", {"200": _json("Imports", _items("Import"))}),
            "post": _op(
                "Import a WSDL or OpenAPI document as entries",
                {"201": _json("The import and its entries", _ref("ImportResult"))},
                body="ImportRequest",
            ),
        },
        "/imports/{id}": {
            "get": _op("One import", {"200": _json("An import", _ref("Import"))}, params=sid)
        },
        "/imports/{id}/refresh": {
            "post": _op("Re-read an import's source", {"200": changes}, params=sid)
        },
        "/resolve": {
            "post": _op(
                "The plan a header resolves to, deploying nothing",
                {"200": _json("The plan", _ref("Plan"))},
                body="ResolveRequest",
            )
        },
        "/applications": {
            "get": _op(
                "The application list", {"200": _json("Applications", _items("Application"))}
            )
        },
        "/applications/{key}": {
            "get": _op(
                "One application", {"200": _json("An application", _ref("Application"))}, params=key
            ),
            "delete": _op("Undeploy one application", no_content, params=key),
        },
        "/purge": {
            "post": _op(
                "Purge now; an optional body overrides the policy once",
                {"200": _json("What was purged", _ref("PurgeReport"))},
            ),
        },
        "/purge/policy": {
            "get": _op("The purge policy", {"200": _json("The policy", _ref("PurgePolicy"))}),
            "put": _op(
                "Change the purge policy (whole or partial); takes effect at once",
                {"200": _json("The policy", _ref("PurgePolicy"))},
                body="PurgePolicy",
            ),
        },
        "/metrics": {
            "get": _op(
                "Prometheus metrics",
                {
                    "200": {
                        "description": "Prometheus text exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/openapi.json": {
            "get": _op("This document", {"200": _json("OpenAPI 3", {"type": "object"})})
        },
    }
    strings = {"type": "array", "items": {"type": "string"}}
    schemas = {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
            "additionalProperties": True,
        },
        "ServiceEntry": ENTRY_SCHEMA,
        "Changes": {
            "type": "object",
            "properties": {"added": strings, "changed": strings, "removed": strings},
        },
        "ImportRequest": {
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": {"enum": ["wsdl", "openapi"]},
                "url": {"type": "string"},
                "document": {"type": "string"},
                "base_url": {"type": "string"},
                "prefix": {"type": "string"},
                "version": {"type": "string"},
            },
        },
        "Import": {"type": "object", "additionalProperties": True},
        "ImportResult": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "items": {"type": "array", "items": _ref("ServiceEntry")},
            },
        },
        "ResolveRequest": {
            "type": "object",
            "required": ["header"],
            "properties": {"header": {"type": "string"}, "content_type": {"type": "string"}},
        },
        "Plan": {
            "type": "object",
            "properties": {
                "canonical": {"type": "string"},
                "key": {"type": "string"},
                "input": strings,
                "output": {"type": "string"},
                "stages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "descriptor": {"type": "string"},
                            "service": {"type": "string"},
                            "input": strings,
                            "output": {"type": "string"},
                        },
                    },
                },
            },
        },
        "Application": {
            "type": "object",
            "properties": {
                "key": {"type": "string"},
                "canonical": {"type": "string"},
                "endpoint": {"type": "string"},
                "app_server": {"type": "string"},
                "node": {"type": "string"},
                "stages": strings,
                "input": strings,
                "output": {"type": "string"},
                "created": {"type": "string", "format": "date-time"},
                "last_used": {"type": "string", "format": "date-time"},
                "hits": {"type": "integer"},
                "in_flight": {"type": "integer"},
                "size_bytes": {"type": "integer"},
            },
        },
        "PurgeReport": {
            "type": "object",
            "properties": {
                "purged": strings,
                "freed_bytes": {"type": "integer"},
                "remaining": {"type": "integer"},
            },
        },
        "PurgePolicy": POLICY_SCHEMA,
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Integration Gateway admin API",
            "version": "1.0.0",
            "description": "Services, imports, resolution, the application list and "
            "purging. Errors are application/problem+json (RFC 9457).",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"token": []}],
        "paths": paths,
    }
