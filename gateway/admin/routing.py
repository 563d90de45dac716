"""The admin API's routes as data, and what its handlers share: JSON in, lists out (SPEC §5).

A `Route` says everything both readers of the table need: the aiohttp router (method,
path, handler) and the OpenAPI document (summary, success responses, request body,
query parameters). Neither is written beside the table; both are built from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.admin.bodies import BODY_LIMIT, loads
from gateway.body import read_body
from gateway.keys import gateway_of
from gateway.middleware import Handler

METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
JSON = "application/json"

# A variable part of an aiohttp path: `{name}`, or `{name:regex}`.
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")

Schema = Mapping[str, Any]


def ref(name: str) -> Schema:
    """The component schema `name`, by reference."""
    return {"$ref": f"#/components/schemas/{name}"}


def items_of(name: str) -> Schema:
    """A list of the component schema `name`, as the admin API answers one."""
    return {"type": "object", "properties": {"items": {"type": "array", "items": ref(name)}}}


@dataclass(frozen=True)
class Success:
    """One status a route answers when it succeeds; `schema` None is an empty body."""

    status: int
    description: str
    schema: Schema | None = field(default=None, hash=False)
    content_type: str = JSON

    def __post_init__(self) -> None:
        if not 200 <= self.status < 400:
            raise ValueError(f"a success is 2xx or 3xx, not {self.status}")


DONE = Success(204, "Done")


@dataclass(frozen=True)
class Route:
    """One admin route: what aiohttp dispatches on, and what OpenAPI says of it."""

    method: str
    path: str
    handler: Handler
    summary: str
    responses: tuple[Success, ...]
    body: str | None = None  # the component schema of a required JSON request body
    query: tuple[str, ...] = ()  # optional string parameters of the query

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"{self.method!r} is not one of {', '.join(sorted(METHODS))}")
        if not self.path.startswith("/"):
            raise ValueError(f"a route's path starts with '/', not {self.path!r}")
        if not self.responses:
            raise ValueError(f"{self.method} {self.path} names no success response")

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of the path's variable parts, in order."""
        return tuple(_PATH_PARAM.findall(self.path))


TABLE: web.AppKey[tuple[Route, ...]] = web.AppKey("admin_routes", tuple)


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    """Put `routes` on the app's router, and keep the table for `GET /openapi.json`."""
    table = tuple(routes)
    for route in table:
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)  # which answers HEAD as well
        else:
            app.router.add_route(route.method, route.path, route.handler)
    app[TABLE] = table


def items(values: list[Any]) -> web.Response:
    """A list, as the admin API answers one (SPEC §5)."""
    return web.json_response({"items": values})


async def json_body(request: web.Request, limit: int = BODY_LIMIT) -> Any:
    """The request's JSON body (SPEC §10.8): 413 past `limit` bytes, read no further;
    422 when it is not JSON, nests too deep or holds a non-finite number."""
    timeout_s = gateway_of(request).config.gateway.body_timeout_s
    return loads(await read_body(request, limit, timeout_s))
