"""The admin API (SPEC §5), on its own listener."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from aiohttp import web
from yarl import URL

from appserver.kinds import check_target
from gateway import console
from gateway.admin import imports
from gateway.admin.routing import items, json_body
from gateway.admin.schemas import document
from gateway.keys import GATEWAY, MAX_BODY, gateway_of
from gateway.middleware import problems
from gateway.runtime import Gateway
from igwcore import mediatype
from igwcore.problems import (
    BadRequest,
    InvalidCredentials,
    InvalidEntry,
    NotFound,
    Problem,
)
from repository.entry import ServiceEntry

log = logging.getLogger("integration_gateway.admin")


def create_admin_app(gateway: Gateway) -> web.Application:
    app = web.Application(middlewares=[problems, _token], client_max_size=16 * 1024 * 1024)
    app[GATEWAY] = gateway
    app[MAX_BODY] = 16 * 1024 * 1024
    r = app.router
    r.add_get("/services", list_services)
    r.add_post("/services", add_service)
    r.add_post("/services:reload", reload_services)
    r.add_get("/services/{id}", get_service)
    r.add_put("/services/{id}", replace_service)
    r.add_delete("/services/{id}", delete_service)
    r.add_post("/services/{id}/disable", disable_service)
    r.add_post("/services/{id}/enable", enable_service)
    r.add_post("/resolve", resolve)
    r.add_get("/applications", list_applications)
    r.add_get("/applications/{key}", get_application)
    r.add_delete("/applications/{key}", delete_application)
    r.add_post("/purge", purge)
    r.add_get("/purge/policy", get_policy)
    r.add_put("/purge/policy", put_policy)
    r.add_get("/metrics", metrics)
    r.add_get("/openapi.json", openapi)
    imports.add_routes(app)
    console.add_routes(app)
    return app


@web.middleware
async def _token(request: web.Request, handler: Any) -> web.StreamResponse:
    token = request.app[GATEWAY].config.admin_token
    if not token and not _loopback_host(request.host):
        # Without a token the API is loopback-only; a page whose name was rebound to
        # 127.0.0.1 still sends its own name as Host, and is refused here.
        raise BadRequest(
            f"the admin API has no token, so it answers only requests addressed to a loopback "
            f"host, not {request.host!r}"
        )
    if token and not console.signed_in(request, token):
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            problem = InvalidCredentials("the admin API needs 'Authorization: Bearer <token>'")
            problem.headers["WWW-Authenticate"] = 'Bearer realm="integration-gateway-admin"'
            raise problem
    return await handler(request)


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, without a port) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_host(host_header: str) -> bool:
    try:
        host = URL(f"http://{host_header}").host
    except ValueError:
        return False
    return host is not None and is_loopback(host)


# --- services -----------------------------------------------------------------------------


async def list_services(request: web.Request) -> web.Response:
    q = request.query
    entries = gateway_of(request).repository.list(
        name=q.get("name") or None, input=q.get("input") or None, output=q.get("output") or None
    )
    return items([e.to_json() for e in entries])


async def add_service(request: web.Request) -> web.Response:
    entry = ServiceEntry.from_json(await json_body(request), check_target=check_target)
    added = gateway_of(request).repository.add(entry)
    log.info("registered %s", added.id)
    return web.json_response(added.to_json(), status=201)


async def get_service(request: web.Request) -> web.Response:
    return web.json_response(gateway_of(request).repository.get(request.match_info["id"]).to_json())


async def replace_service(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    sid = request.match_info["id"]
    data = await json_body(request)
    if isinstance(data, dict):
        data = {**data, "id": sid}
    entry = ServiceEntry.from_json(data, check_target=check_target)
    replaced = gw.repository.replace(sid, entry)
    await gw.services_changed([sid])
    log.info("replaced %s", sid)
    return web.json_response(replaced.to_json())


async def delete_service(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    sid = request.match_info["id"]
    gw.repository.delete(sid)
    await gw.services_changed([sid])
    log.info("removed %s", sid)
    return web.Response(status=204)


async def _set_enabled(request: web.Request, enabled: bool) -> web.Response:
    gw = gateway_of(request)
    sid = request.match_info["id"]
    entry = gw.repository.set_enabled(sid, enabled)
    await gw.services_changed([sid])
    log.info("%s %s", "enabled" if enabled else "disabled", sid)
    return web.json_response(entry.to_json())


async def disable_service(request: web.Request) -> web.Response:
    return await _set_enabled(request, False)


async def enable_service(request: web.Request) -> web.Response:
    return await _set_enabled(request, True)


async def reload_services(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    changes = gw.reload_service_dirs()
    await gw.services_changed([*changes["changed"], *changes["removed"]])
    return web.json_response(changes)


# --- resolution and applications ----------------------------------------------------------


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


async def list_applications(request: web.Request) -> web.Response:
    return items([a.record() for a in gateway_of(request).applications])


def _application(request: web.Request) -> Any:
    key = request.match_info["key"]
    application = gateway_of(request).applications.get(key)
    if application is None:
        raise NotFound(f"no application with key {key} is deployed")
    return application


async def get_application(request: web.Request) -> web.Response:
    return web.json_response(_application(request).record())


async def delete_application(request: web.Request) -> web.Response:
    application = _application(request)
    gateway_of(request).applications.remove([application.key])
    return web.Response(status=204)


# --- purging ------------------------------------------------------------------------------


async def purge(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    policy = gw.applications.policy
    if request.can_read_body:
        data = await json_body(request)
        if data is not None:
            policy = policy.updated_from(data)
    report = await gw.purge(policy, "request")
    return web.json_response(report.to_json())


async def get_policy(request: web.Request) -> web.Response:
    return web.json_response(gateway_of(request).applications.policy.to_json())


async def put_policy(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    policy = gw.applications.policy.updated_from(await json_body(request))
    await gw.set_policy(policy)
    return web.json_response(policy.to_json())


# --- operations ---------------------------------------------------------------------------


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=gateway_of(request).metrics.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


__all__ = ["Problem", "create_admin_app"]
