"""`/imports` of the admin API (SPEC §5): WSDL documents as service entries."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway.admin.bodies import MIB
from gateway.admin.routing import Route, Success, items, items_of, json_body, ref
from gateway.admin.services import CHANGES
from gateway.keys import gateway_of
from igwcore.problems import InvalidEntry
from igwcore.urls import same_url
from repository.wsdl import WsdlImport, import_wsdl
from repository.wsdlcache import wsdl_cache

log = logging.getLogger("integration_gateway.admin")

FIELDS = {"kind", "url", "document", "base_url", "prefix", "version", "connection"}


def _request(data: Any) -> dict[str, Any]:
    errors = []
    if not isinstance(data, dict):
        raise InvalidEntry(
            "an import is a JSON object", errors=[{"field": "", "reason": "not an object"}]
        )
    for key in sorted(set(data) - FIELDS):
        errors.append({"field": key, "reason": f"unknown; known: {', '.join(sorted(FIELDS))}"})
    if data.get("kind") not in ("wsdl", "openapi"):
        errors.append({"field": "kind", "reason": "must be 'wsdl' or 'openapi'"})
    for key in FIELDS - {"kind"}:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            errors.append({"field": key, "reason": "must be a string"})
    if ("url" in data) == ("document" in data):
        errors.append({"field": "url", "reason": "give either url or document"})
    if not errors and data["kind"] == "openapi":
        errors.append({"field": "kind", "reason": "OpenAPI imports are not in this release"})
    if errors:
        raise InvalidEntry(
            f"invalid import: {errors[0]['field']}: {errors[0]['reason']}", errors=errors
        )
    return data


async def _import(gw: Any, data: dict[str, Any], previous: str | None) -> WsdlImport:
    version = data.get("version") or "1.0.0"
    return await import_wsdl(
        url=data.get("url"),
        document=data.get("document"),
        base_url=data.get("base_url"),
        prefix=data.get("prefix"),
        version=version,
        connection=data.get("connection"),
        policy=gw.env.fetch,
        check_target=gw.check_target,
        cache=wsdl_cache(gw.env.shared),
        reserved=_taken_names(gw, version, previous),
    )


def _taken_names(gw: Any, version: str, previous: str | None) -> set[str]:
    """The names whose id at `version` another service has (SPEC §5: names that collide
    get `_2`, `_3`...; as for a `wsdl:URL#Op` import). The entries of the import being
    repeated (`previous`) keep their names; other versions of a name do not collide."""
    repo = gw.repository
    own = {e.id for e in repo.import_entries(previous)} if previous is not None else set()
    return {e.name for e in repo.list() if e.version == version and e.id not in own}


async def create_import(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    # A document travels in the body: up to fetch_max_bytes of it, and 1 MiB besides.
    limit = gw.config.assembler.fetch_max_bytes + MIB
    data = _request(await json_body(request, limit))
    previous = _same_source(gw, data.get("url"), data.get("base_url"))
    result = await _import(gw, data, previous)
    record = result.record(id=previous)
    changes = gw.repository.apply_import(record, result.entries)
    await _undeploy(gw, result, changes)
    log.info("imported %d entries from %s", len(result.entries), result.url)
    return web.json_response(
        {"id": record.id, "items": [e.to_json() for e in result.entries]}, status=201
    )


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
    record = gw.repository.get_import(request.match_info["id"])
    data: dict[str, Any] = {"prefix": record.prefix, "version": record.version}
    if record.url is not None:
        data["url"] = record.url
    else:
        data.update(document=record.document, base_url=record.base_url)
    result = await _import(gw, data, record.id)
    changes = gw.repository.apply_import(result.record(id=record.id), result.entries)
    await _undeploy(gw, result, changes)
    return web.json_response(changes)


def _same_source(gw: Any, url: str | None, base_url: str | None) -> str | None:
    """The import this one repeats (same URL, or same base URL for a document): re-importing
    a WSDL updates that import's entries rather than clashing with them."""
    for record in gw.repository.list_imports():
        if record.kind != "wsdl":
            continue
        if url is not None and record.url is not None and same_url(record.url, url):
            return record.id
        if url is None and base_url and record.base_url and same_url(record.base_url, base_url):
            return record.id
    return None


async def _undeploy(gw: Any, result: WsdlImport, changes: Any) -> None:
    """Every application using an entry of the import goes, changed or not: the WSDL
    behind an unchanged entry (its schema, its address) may have changed."""
    await gw.services_changed([*(e.id for e in result.entries), *changes["removed"]])


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
