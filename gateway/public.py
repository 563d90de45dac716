"""The public listener: integration requests (SPEC §2) and basic requests (SPEC §4)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from appserver.application import Application
from gateway import logs
from gateway.body import body_now, read_body
from gateway.clients import not_allowed
from gateway.keys import CACHE, CLIENT, GATEWAY, KEY, MAX_BODY, STAGES
from gateway.middleware import problems
from gateway.proxy import match_route
from gateway.runtime import Gateway, Parsed
from igwcore import mediatype
from igwcore.message import Message, RequestContext
from igwcore.problems import (
    DuplicateHeader,
    HeaderTooLarge,
    NoRoute,
    NotFound,
    PayloadTooLarge,
    Problem,
    ServiceNotFound,
    TypeMismatch,
    UnsupportedInput,
)
from repository.clients import Client

log = logging.getLogger("integration_gateway.http")

HEADER = "Integration-Config"
RESERVED = "/_gateway/"


def create_public_app(gateway: Gateway) -> web.Application:
    g = gateway.config.gateway
    # How long and how large a head may be is the listener's (`gateway.listener`).
    app = web.Application(client_max_size=g.max_body_bytes)
    app[GATEWAY] = gateway
    app[MAX_BODY] = g.max_body_bytes
    # `problems` as each route's own wrapper, not a middleware: the same answers, without
    # aiohttp's middleware chain on every request (the catch-all route leaves the router
    # nothing to refuse on its own).
    app.router.add_get("/_gateway/health", functools.partial(problems, handler=health))
    app.router.add_get("/_gateway/capabilities", functools.partial(problems, handler=capabilities))
    app.router.add_route("*", "/{tail:.*}", functools.partial(problems, handler=dispatch))
    return app


async def health(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    body = {
        "status": "ok",
        "node": gw.config.gateway.node,
        "applications": len(gw.applications),
        "repository": gw.repository_state,
    }
    if gw.worker is not None:
        body["worker"] = gw.worker
    return web.json_response(body)


async def capabilities(request: web.Request) -> web.Response:
    """The calling client: its id, its patterns and the services it may use now (SPEC §9)."""
    gw = request.app[GATEWAY]
    if not gw.clients_required:
        raise NotFound(
            "this gateway does not require clients ([gateway] require_client_auth is false)"
        )
    client = await gw.clients.authenticate(request.headers.get("Authorization"))
    entries = [e for e in gw.repository.index().entries() if e.id not in gw.held]
    return web.json_response(
        {
            "client": client.id,
            "allow": list(client.allow),
            "services": gw.clients.usable(client, entries),
        }
    )


async def dispatch(request: web.Request) -> web.StreamResponse:
    if request.path.startswith(RESERVED):
        raise NotFound(f"{request.path} is not a gateway endpoint")
    values = request.headers.getall(HEADER, [])
    if not values:
        return await forward(request)
    gw = request.app[GATEWAY]
    tracing = gw.tracing
    if tracing.tracer is None:
        return await _counted(gw, request, values, None)
    with tracing.request(request.method, request.path, request.headers) as span:
        return await _counted(gw, request, values, span)


async def forward(request: web.Request) -> web.StreamResponse:
    gw = request.app[GATEWAY]
    matched = match_route(gw.config.routes, request.rel_url.raw_path)
    if matched is None:
        raise NoRoute(f"no route matches {request.path} and the request has no {HEADER} header")
    route, rest = matched
    limit = gw.config.gateway.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(
            f"the body has {request.content_length} bytes; the limit is {limit}", limit=limit
        )
    response = await gw.proxy.forward(
        request, route, rest, max_body_bytes=limit, body_timeout_s=gw.config.gateway.body_timeout_s
    )
    gw.metrics.basic_requests.add((route.prefix, str(response.status)))
    return response


async def _counted(gw: Gateway, request: web.Request, value: list[str], span: Any) -> web.Response:
    """The request answered, and counted by outcome and cache result (and its span told)."""
    metrics = gw.metrics
    audit = gw.audit
    received = time.time() if audit is not None else 0.0
    started = time.perf_counter()
    outcome, cache, status = "ok", "none", 500
    metrics.in_flight += 1
    try:
        response = await _integrate(gw, request, value, traced=span is not None)
        cache, status = request[CACHE], response.status
        return response
    except Problem as p:
        outcome, cache, status = p.slug, request.get(CACHE, "none"), p.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away first (nginx's number; an audit record's)
        raise
    finally:
        metrics.in_flight -= 1
        metrics.requests.add((outcome, cache))
        metrics.request_time.observe(cache, time.perf_counter() - started)
        if audit is not None:
            client = request.get(CLIENT)
            audit.record(
                None if client is None else client.id,
                request.get(KEY),
                request.get(STAGES, ()),
                received,
                status,
            )
        if span is not None:
            gw.tracing.annotate(
                span, **{"igw.key": request.get(KEY), "igw.cache": cache, "igw.outcome": outcome}
            )


async def _integrate(
    gw: Gateway, request: web.Request, values: list[str], *, traced: bool
) -> web.Response:
    g = gw.config.gateway
    # SPEC §2's order: the body's size by Content-Length, credentials, then the header.
    if request.content_length is not None and request.content_length > g.max_body_bytes:
        raise PayloadTooLarge(
            f"the body has {request.content_length} bytes; the limit is {g.max_body_bytes}",
            limit=g.max_body_bytes,
        )
    client: Client | None = None
    if gw.clients_required:
        authorization = request.headers.get("Authorization")
        client = gw.clients.known(authorization)
        if client is None:
            client = await gw.clients.authenticate(authorization)
        request[CLIENT] = client
    if len(values) > 1:
        raise DuplicateHeader(
            f"{HEADER} was given {len(values)} times; send the whole pipe in one header"
        )
    value = values[0]
    size = len(value) if value.isascii() else len(value.encode("utf-8", "surrogateescape"))
    if size > g.max_header_bytes:
        raise HeaderTooLarge(
            f"{HEADER} has {size} bytes; the limit is {g.max_header_bytes}",
            limit=g.max_header_bytes,
        )
    parsed = gw.parse(value)
    request[KEY] = parsed.key
    content_type = request.headers.get("Content-Type") or mediatype.DEFAULT
    application = gw.applications.get(parsed.key)
    if application is not None and not application.closed:
        cache: str = "hit"
    else:
        try:
            if client is not None:
                await _admit_before_assembly(gw, request, parsed, client)
            application, cache = await _application(gw, parsed, content_type)
        except ServiceNotFound as p:
            raise gw.suggested(p, parsed, client) from None
    request[CACHE] = cache
    runner = await _runner(gw, application, content_type, client)
    request[STAGES] = runner.stage_ids
    body = body_now(request, g.max_body_bytes)
    if body is None:
        body = await read_body(request, g.max_body_bytes, g.body_timeout_s)
    # In flight only now that the body is here (SPEC §10.5): a slow upload never pins an
    # application. One purged or changed meanwhile is assembled again.
    if application.closed:
        application, _ = await _application(gw, parsed, content_type)
        runner = await _runner(gw, application, content_type, client)
        request[STAGES] = runner.stage_ids
    application.enter()
    try:
        gw.applications.touch(application, hit=cache != "miss")
        headers = request.headers
        if client is not None and "Authorization" in headers:
            headers = without_credentials(headers)
        context = RequestContext(
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            headers=headers,
            request_id=logs.request_id.get(),
            traceparent=headers.get("traceparent"),
        )
        message, timings = await runner.invoke(
            Message(body, content_type),
            context,
            timeout_s=g.stage_timeout_s,
            on_stage=gw.metrics.stage.observe,
            tracer=gw.tracing if traced else None,
        )
    finally:
        application.leave()
    if message.content_type == mediatype.NONE:  # a one-way operation, last: nothing to say
        return web.Response(
            status=200,
            headers={
                "Integration-Cache": cache,
                "Server-Timing": runner.server_timing(timings),
            },
        )
    return web.Response(
        body=message.body,
        headers={
            "Content-Type": message.content_type,
            "Integration-Cache": cache,
            "Server-Timing": runner.server_timing(timings),
        },
    )


async def _runner(
    gw: Gateway, application: Application, content_type: str, client: Client | None
) -> Application:
    """What runs this request: the application, or with auto_convert its pipe for this
    request type (converters behind `same` stages). The client's grant (403) is checked
    against what will run, then the types (415, 422), all before the body is read."""
    if client is not None:
        gw.clients.admit(client, application)
    runner = application
    if gw.config.assembler.auto_convert:
        try:
            application.output_for(content_type)
        except (UnsupportedInput, TypeMismatch):
            runner = await gw.converted(application, content_type)
            if client is not None:
                gw.clients.admit(client, runner)  # the converters put in, too
    runner.output_for(content_type)
    return runner


async def _admit_before_assembly(
    gw: Gateway, request: web.Request, parsed: Parsed, client: Client
) -> None:
    """403 for stages outside the client's grant before anything is deployed for it:
    resolution (its 404, 409 and 422 come first), then the grant (SPEC §2's order)."""
    stages = await gw.assembler.stages(parsed.descriptors)
    request[STAGES] = tuple(s.service.id for s in stages)
    refused = client.grant.refused(s.service for s in stages)
    if refused:
        raise not_allowed(client, refused)


def without_credentials(headers: Any) -> CIMultiDictProxy[str]:
    """The request's headers but the verified `Authorization`: no stage sees a secret."""
    kept = CIMultiDict(headers)
    kept.popall("Authorization", None)
    return CIMultiDictProxy(kept)


async def _application(gw: Gateway, parsed: Parsed, content_type: str) -> tuple[Application, str]:
    """The application, retried if a purge closed it while this request waited for it."""
    for _ in range(3):
        application, cache = await gw.application(parsed, content_type)
        if not application.closed:
            return application, cache
    return application, cache
