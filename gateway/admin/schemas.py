"""The admin API described in OpenAPI 3.1 (`GET /openapi.json`), built from its route table.

As in Starlette's `schemas.py`, the paths are read off the routes the app was built from,
so no route is served without being described, nor described without being served.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from appserver.purge import POLICY_SCHEMA
from gateway.admin.routing import JSON, TABLE, Route, Success, ref
from repository.clients import CLIENT_SCHEMA
from repository.entry import ENTRY_SCHEMA

PROBLEM = {
    "description": "A problem (RFC 9457)",
    "content": {"application/problem+json": {"schema": ref("Problem")}},
}

_STRINGS = {"type": "array", "items": {"type": "string"}}

# JSON Schema 2020-12, as `repository.entry` and `appserver.purge` validate with: the
# dialect of OpenAPI 3.1 (3.0's schema objects would refuse ENTRY_SCHEMA's propertyNames).
SCHEMAS: dict[str, Any] = {
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
        "properties": {"added": _STRINGS, "changed": _STRINGS, "removed": _STRINGS},
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
            "connection": {"type": "string"},
            "server_url": {"type": "string"},
            "documents": {"type": "object", "additionalProperties": {"type": "string"}},
            "refresh_s": {"type": "number", "minimum": 0},
        },
    },
    "Import": {"type": "object", "additionalProperties": True},
    "ImportResult": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "items": {"type": "array", "items": ref("ServiceEntry")},
            "warnings": _STRINGS,
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
            "input": _STRINGS,
            "output": {"type": "string"},
            "stages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "descriptor": {"type": "string"},
                        "service": {"type": "string"},
                        "input": _STRINGS,
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
            "stages": _STRINGS,
            "input": _STRINGS,
            "output": {"type": "string"},
            "created": {"type": "string", "format": "date-time"},
            "last_used": {"type": "string", "format": "date-time"},
            "hits": {"type": "integer"},
            "in_flight": {"type": "integer"},
            "size_bytes": {"type": "integer"},
            "worker": {"type": "integer", "description": "its worker (workers above 1)"},
        },
    },
    "PurgeReport": {
        "type": "object",
        "properties": {
            "purged": _STRINGS,
            "freed_bytes": {"type": "integer"},
            "remaining": {"type": "integer"},
        },
    },
    "PurgePolicy": POLICY_SCHEMA,
    "Export": {
        "type": "object",
        "properties": {
            "services": {"type": "array", "items": ref("ServiceEntry")},
            "imports": {"type": "array", "items": ref("ImportRequest")},
        },
    },
    "ClientRequest": CLIENT_SCHEMA,
    "Client": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "allow": _STRINGS,
            "description": {"type": "string"},
            "source": {"type": "string"},
            "sends": _STRINGS,
            "created": {"type": "string", "format": "date-time"},
            "secret_created": {"type": "string", "format": "date-time"},
        },
    },
    "ClientWithSecret": {
        "allOf": [
            {"$ref": "#/components/schemas/Client"},
            {
                "type": "object",
                "required": ["secret"],
                "properties": {"secret": {"type": "string"}},
            },
        ]
    },
    "AuditRecord": {
        "type": "object",
        "properties": {
            "client": {"type": ["string", "null"]},
            "key": {"type": ["string", "null"]},
            "stages": _STRINGS,
            "received": {"type": "string", "format": "date-time"},
            "finished": {"type": "string", "format": "date-time"},
            "status": {"type": "integer"},
        },
    },
}


def document(routes: Iterable[Route]) -> dict[str, Any]:
    """The OpenAPI document of `routes`: one operation for each."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operations = paths.setdefault(route.path, {})
        method = route.method.lower()
        if method in operations:
            raise ValueError(f"{route.method} {route.path} is in the route table twice")
        operations[method] = _operation(route)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Integration Gateway admin API",
            "version": "1.0.0",
            "description": "Services, imports, resolution, the application list and "
            "purging. Errors are application/problem+json (RFC 9457).",
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        # No token set, no token needed (SPEC §5); the document cannot know which holds.
        "security": [{}, {"token": []}],
        "paths": paths,
    }
    # A copy: the document shares PROBLEM, SCHEMAS and the routes' schemas, and a caller
    # that edits its document must not edit the next one.
    return copy.deepcopy(doc)


def _operation(route: Route) -> dict[str, Any]:
    responses = {str(s.status): _response(s) for s in route.responses}
    op: dict[str, Any] = {"summary": route.summary, "responses": {**responses, "default": PROBLEM}}
    if route.body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(route.body)}}}
    parameters = [
        *(_parameter(name, "path") for name in route.path_params),
        *(_parameter(name, "query") for name in route.query),
    ]
    if parameters:
        op["parameters"] = parameters
    return op


def _response(success: Success) -> dict[str, Any]:
    response: dict[str, Any] = {"description": success.description}
    if success.schema is not None:
        response["content"] = {success.content_type: {"schema": success.schema}}
    return response


def _parameter(name: str, where: str) -> dict[str, Any]:
    """A string parameter; one in the path is required, as OpenAPI insists."""
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": "string"}}


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(request.app[TABLE]))


ROUTES = (
    Route(
        "GET",
        "/openapi.json",
        openapi,
        "This document",
        (Success(200, "OpenAPI 3", {"type": "object"}),),
    ),
)
