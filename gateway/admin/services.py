"""`/services` and `/resolve` of the admin API (SPEC §5): the entries, and how they resolve."""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.admin.routing import DONE, Route, Success, items, items_of, json_body, ref
from gateway.console.enabling import set_enabled
from gateway.keys import gateway_of
from igwcore import mediatype
from igwcore.problems import InvalidEntry
from repository.entry import ServiceEntry
from repository.import_record import source_of

log = logging.getLogger("integration_gateway.admin")

ENTRY = Success(200, "A service entry", ref("ServiceEntry"))
CHANGES = Success(200, "Ids added, changed and removed", ref("Changes"))


async def list_services(request: web.Request) -> web.Response:
    q = request.query
    entries = gateway_of(request).repository.list(
        name=q.get("name") or None, input=q.get("input") or None, output=q.get("output") or None
    )
    return items([gateway_of(request).entry_json(e) for e in entries])


async def add_service(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    entry = ServiceEntry.from_json(await json_body(request), check_target=gw.check_target)
    added = gw.repository.add(entry)
    await gw.registered([added])
    log.info("registered %s", added.id)
    return web.json_response(added.to_json(), status=201)


async def get_service(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    return web.json_response(gw.entry_json(gw.repository.get(request.match_info["id"])))


async def replace_service(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    sid = request.match_info["id"]
    data = await json_body(request)
    if isinstance(data, dict):
        data = {**data, "id": sid}
    entry = ServiceEntry.from_json(data, check_target=gw.check_target)
    replaced = gw.repository.replace(sid, entry)
    gw.held.pop(sid, None)  # it passed the rules that held it back
    await gw.services_changed([sid])
    await gw.registered([replaced])
    log.info("replaced %s", sid)
    return web.json_response(replaced.to_json())


async def delete_service(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    sid = request.match_info["id"]
    gw.repository.delete(sid)
    gw.held.pop(sid, None)
    await gw.services_changed([sid])
    log.info("removed %s", sid)
    return web.Response(status=204)


async def _set_enabled(request: web.Request, enabled: bool) -> web.Response:
    entry = await set_enabled(gateway_of(request), request.match_info["id"], enabled)
    return web.json_response(entry.to_json())


async def disable_service(request: web.Request) -> web.Response:
    return await _set_enabled(request, False)


async def enable_service(request: web.Request) -> web.Response:
    return await _set_enabled(request, True)


async def reload_services(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    changes = gw.reload_service_dirs()
    # Every file passed the rules: what is held back now is what else is stored.
    gw.held.clear()
    gw.held.update(gw.held_back())
    await gw.services_changed([*changes["changed"], *changes["removed"]])
    await gw.registered([gw.repository.get(id) for id in [*changes["added"], *changes["changed"]]])
    return web.json_response(changes)


async def export_services(request: web.Request) -> web.Response:
    """The repository as files (SPEC §5; issue 12): the entries no import made, and each
    import as its source and options; nothing secret (connections are aliases)."""
    repo = gateway_of(request).repository
    return web.json_response(
        {
            "services": [e.to_json() for e in repo.own()],
            "imports": [source_of(r) for r in repo.list_imports()],
        }
    )


async def resolve(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    data = await json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("header"), str):
        raise InvalidEntry(
            'POST /resolve takes {"header": "...", "content_type": "..."}',
            errors=[{"field": "header", "reason": "a string is required"}],
        )
    content_type = data.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise InvalidEntry(
            "content_type must be a string",
            errors=[{"field": "content_type", "reason": "must be a string"}],
        )
    parsed = gw.parse_uncached(data["header"])
    plan = await gw.assembler.plan(
        parsed.descriptors, parsed.canonical, parsed.key, content_type=content_type
    )
    body = plan.to_json()
    if content_type is not None:
        body["input"] = [mediatype.normalize(content_type)]
    return web.json_response(body)


ROUTES = (
    Route(
        "GET",
        "/services",
        list_services,
        "List service entries",
        (Success(200, "Entries", items_of("ServiceEntry")),),
        query=("name", "input", "output"),
    ),
    Route(
        "POST",
        "/services",
        add_service,
        "Register a service entry",
        (Success(201, "A service entry", ref("ServiceEntry")),),
        body="ServiceEntry",
    ),
    Route(
        "POST",
        "/services:reload",
        reload_services,
        "Re-read the service files of [repository] service_dirs",
        (CHANGES,),
    ),
    Route(
        "GET",
        "/services:export",
        export_services,
        "The repository for version control: entries no import made, and each import's source",
        (Success(200, "Entries and imports", ref("Export")),),
    ),
    Route("GET", "/services/{id}", get_service, "Read one entry", (ENTRY,)),
    Route(
        "PUT",
        "/services/{id}",
        replace_service,
        "Replace one entry; undeploys applications using it",
        (ENTRY,),
        body="ServiceEntry",
    ),
    Route(
        "DELETE",
        "/services/{id}",
        delete_service,
        "Remove one entry; undeploys applications using it",
        (DONE,),
    ),
    Route(
        "POST",
        "/services/{id}/disable",
        disable_service,
        "Take an entry out of resolution",
        (ENTRY,),
    ),
    Route(
        "POST",
        "/services/{id}/enable",
        enable_service,
        "Put an entry back into resolution",
        (ENTRY,),
    ),
    Route(
        "POST",
        "/resolve",
        resolve,
        "The plan a header resolves to, deploying nothing",
        (Success(200, "The plan", ref("Plan")),),
        body="ResolveRequest",
    ),
)
