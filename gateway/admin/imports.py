"""`/imports` of the admin API (SPEC §5): WSDL and OpenAPI documents as service entries
(the work is `gateway.imports`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.admin.bodies import MIB
from gateway.admin.routing import Route, Success, items, items_of, json_body, ref
from gateway.admin.services import CHANGES
from gateway.imports import checked_request, make_import, refresh
from gateway.keys import gateway_of
from repository.openapi import OpenApiImport


async def create_import(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    # A document travels in the body: up to fetch_max_bytes of it, and 1 MiB besides.
    limit = gw.config.assembler.fetch_max_bytes + MIB
    record, result = await make_import(gw, checked_request(await json_body(request, limit)))
    body: dict[str, Any] = {"id": record.id, "items": [e.to_json() for e in result.entries]}
    if isinstance(result, OpenApiImport):
        body["warnings"] = list(result.warnings)
    return web.json_response(body, status=201)


async def list_imports(request: web.Request) -> web.Response:
    return items([r.to_json() for r in gateway_of(request).repository.list_imports()])


async def get_import(request: web.Request) -> web.Response:
    repo = gateway_of(request).repository
    record = repo.get_import(request.match_info["id"])
    body = record.to_json()
    body["items"] = [e.id for e in repo.import_entries(record.id)]
    return web.json_response(body)


async def refresh_import(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    return web.json_response(await refresh(gw, gw.repository.get_import(request.match_info["id"])))


ROUTES = (
    Route(
        "GET",
        "/imports",
        list_imports,
        "Past imports",
        (Success(200, "Imports", items_of("Import")),),
    ),
    Route(
        "POST",
        "/imports",
        create_import,
        "Import a WSDL or OpenAPI document as entries",
        (Success(201, "The import and its entries", ref("ImportResult")),),
        body="ImportRequest",
    ),
    Route(
        "GET",
        "/imports/{id}",
        get_import,
        "One import",
        (Success(200, "An import", ref("Import")),),
    ),
    Route(
        "POST", "/imports/{id}/refresh", refresh_import, "Re-read an import's source", (CHANGES,)
    ),
)
