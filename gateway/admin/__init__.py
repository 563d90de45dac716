"""The admin API (SPEC §5), on its own listener."""

from __future__ import annotations

from aiohttp import web

from gateway import console
from gateway.admin import applications, clients, imports, prometheus, schemas, services
from gateway.admin.bodies import BODY_LIMIT
from gateway.admin.guard import guard, is_loopback
from gateway.admin.routing import Route, add_routes
from gateway.keys import GATEWAY, MAX_BODY
from gateway.middleware import problems
from gateway.runtime import Gateway

# Every route of the admin API but the console's pages: what the app answers, and what
# GET /openapi.json describes.
ROUTES: tuple[Route, ...] = (
    *services.ROUTES,
    *imports.ROUTES,
    *applications.ROUTES,
    *clients.ROUTES,
    *prometheus.ROUTES,
    *schemas.ROUTES,
)


def create_admin_app(gateway: Gateway) -> web.Application:
    # JSON bodies are read by `routing.json_body` under their own limits; this one holds
    # for what aiohttp reads itself (the console's forms).
    app = web.Application(middlewares=[problems, guard], client_max_size=BODY_LIMIT)
    app[GATEWAY] = gateway
    app[MAX_BODY] = BODY_LIMIT
    add_routes(app, ROUTES)
    console.add_routes(app)
    return app


__all__ = ["ROUTES", "create_admin_app", "is_loopback"]
