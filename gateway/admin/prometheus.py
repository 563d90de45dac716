"""`/metrics` of the admin API (SPEC §5): the gateway's metrics as Prometheus text."""

from __future__ import annotations

from aiohttp import web

from gateway.admin.routing import Route, Success
from gateway.keys import gateway_of


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=await gateway_of(request).metrics_text(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


ROUTES = (
    Route(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics",
        (Success(200, "Prometheus text exposition", {"type": "string"}, "text/plain"),),
    ),
)
