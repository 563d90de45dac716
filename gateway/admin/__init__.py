"""The admin API (SPEC §5), on its own listener."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from aiohttp import web
from yarl import URL

from gateway import console
from gateway.admin import applications, imports, prometheus, schemas, services
from gateway.admin.routing import Route, add_routes
from gateway.keys import GATEWAY, MAX_BODY
from gateway.middleware import problems
from gateway.runtime import Gateway
from igwcore.problems import BadRequest, InvalidCredentials

# Every route of the admin API but the console's pages: what the app answers, and what
# GET /openapi.json describes.
ROUTES: tuple[Route, ...] = (
    *services.ROUTES,
    *imports.ROUTES,
    *applications.ROUTES,
    *prometheus.ROUTES,
    *schemas.ROUTES,
)


def create_admin_app(gateway: Gateway) -> web.Application:
    app = web.Application(middlewares=[problems, _token], client_max_size=16 * 1024 * 1024)
    app[GATEWAY] = gateway
    app[MAX_BODY] = 16 * 1024 * 1024
    add_routes(app, ROUTES)
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


__all__ = ["ROUTES", "create_admin_app", "is_loopback"]
