"""`/applications` and `/purge` of the admin API (SPEC §5, §6): the application list."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.admin.routing import DONE, Route, Success, items, items_of, json_body, ref
from gateway.keys import gateway_of
from igwcore.problems import NotFound

POLICY = Success(200, "The policy", ref("PurgePolicy"))


async def list_applications(request: web.Request) -> web.Response:
    return items(await gateway_of(request).application_records())


async def _records(request: web.Request) -> list[dict[str, Any]]:
    """The application of the key on each worker holding it (one without workers)."""
    key = request.match_info["key"]
    found = [r for r in await gateway_of(request).application_records() if r["key"] == key]
    if not found:
        raise NotFound(f"no application with key {key} is deployed")
    return found


async def get_application(request: web.Request) -> web.Response:
    found = await _records(request)
    if gateway_of(request).peers:  # SPEC §6: one a worker holding it
        return items(found)
    return web.json_response(found[0])


async def delete_application(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    if not await gateway_of(request).remove_applications([key]):
        raise NotFound(f"no application with key {key} is deployed")
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
        (
            Success(
                200,
                "An application; with workers, {items: [...]}, one a worker holding it",
                {"oneOf": [ref("Application"), items_of("Application")]},
            ),
        ),
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
