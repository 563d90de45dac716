"""The one place where errors become problem+json, and where a request gets its id."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway import logs
from gateway.keys import GATEWAY, KEY, MAX_BODY
from igwcore.problems import (
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    RepositoryUnavailable,
)
from repository.database import RepositoryUnavailable as OutOfReach

log = logging.getLogger("integration_gateway.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROBLEM_JSON = "application/problem+json"


def problem_response(problem: Problem) -> web.Response:
    response = web.Response(
        status=problem.status,
        body=json.dumps(problem.body()).encode(),
        headers={"Content-Type": PROBLEM_JSON, **problem.headers},
    )
    return response


def _from_http_exception(request: web.Request, e: web.HTTPException) -> Problem:
    if e.status == 404:
        return NotFound(f"nothing at {request.method} {request.path}")
    if e.status == 405:
        problem = MethodNotAllowed(f"{request.path} does not answer {request.method}")
        allowed = getattr(e, "allowed_methods", ())
        if allowed:  # RFC 9110: a 405 says which methods it does answer
            problem.headers["Allow"] = ", ".join(sorted(allowed))
        return problem
    if e.status == 413:
        return PayloadTooLarge("the request body is too large", limit=request.app[MAX_BODY])
    if e.status < 500:
        return BadRequest(f"{e.status} {e.reason}: {e.text or ''}".strip())
    return InternalError(f"{e.status} {e.reason}")


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = logs.new_request_id(request.headers.get("X-Request-Id"))
    token = logs.request_id.set(rid)
    gateway = request.app[GATEWAY]
    gateway.requests_in_progress += 1  # what a stop drains
    try:
        try:
            response = await handler(request)
        except Problem as p:
            _log_problem(request, p)
            response = problem_response(p)
        except OutOfReach as e:  # a shared repository, between the loss and its notice
            p = RepositoryUnavailable(f"{e}; deployed applications keep serving")
            _log_problem(request, p)
            response = problem_response(p)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            p = _from_http_exception(request, e)
            _log_problem(request, p)
            response = problem_response(p)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = problem_response(
                InternalError(f"the gateway failed on this request; its log has request id {rid}")
            )
        if not response.prepared:
            if response.status == 408:  # a body that came too slowly: the rest is not read
                response.force_close()
            response.headers["X-Request-Id"] = rid
            key = request.get(KEY)
            if key is not None:
                response.headers["Integration-App"] = key
        return response
    finally:
        gateway.requests_in_progress -= 1
        logs.request_id.reset(token)


def _log_problem(request: web.Request, p: Problem) -> None:
    level = logging.WARNING if p.status >= 500 else logging.INFO
    log.log(level, "%s %s -> %d %s: %s", request.method, request.path, p.status, p.slug, p.detail)
