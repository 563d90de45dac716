"""`/applications` and `/purge` of the admin API (SPEC §5, §6): the application list."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.admin.routing import DONE, Route, Success, items, items_of, json_body, ref
from gateway.keys import gateway_of
from igwcore.problems import NotFound

POLICY = Success(200, "The policy", ref("PurgePolicy"))


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


ROUTES = (
    Route(
        "GET",
        "/applications",
        list_applications,
        "The application list",
        (Success(200, "Applications", items_of("Application")),),
    ),
    Route(
        "GET",
        "/applications/{key}",
        get_application,
        "One application",
        (Success(200, "An application", ref("Application")),),
    ),
    Route("DELETE", "/applications/{key}", delete_application, "Undeploy one application", (DONE,)),
    Route(
        "POST",
        "/purge",
        purge,
        "Purge now; an optional body overrides the policy once",
        (Success(200, "What was purged", ref("PurgeReport")),),
    ),
    Route("GET", "/purge/policy", get_policy, "The purge policy", (POLICY,)),
    Route(
        "PUT",
        "/purge/policy",
        put_policy,
        "Change the purge policy (whole or partial); takes effect at once",
        (POLICY,),
        body="PurgePolicy",
    ),
)
