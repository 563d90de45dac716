"""Running the gateway: both listeners in one event loop, a graceful stop on SIGTERM.

On SIGTERM or SIGINT the gateway stops listening (health checks fail from then on, so a
load balancer moves away), lets the requests in flight finish — up to `DRAIN_SECONDS`,
after which their connections are closed — then closes every application (each stage's
sessions and files) and the repository, and exits 0. A second signal during the drain
is not caught: it ends the process at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from gateway import logs
from gateway.admin import create_admin_app, is_loopback
from gateway.config import Config, ConfigError
from gateway.listener import BoundedRunner, ConnectionGate, HeadLimits
from gateway.public import create_public_app
from gateway.runtime import Gateway

log = logging.getLogger("integration_gateway")

# How long a stop waits for requests in flight before it closes their connections.
DRAIN_SECONDS = 30.0


def check_startable(config: Config) -> None:
    if not config.admin_token and not is_loopback(config.admin.host):
        raise ConfigError(
            f"admin.host = {config.admin.host!r} is not loopback and no admin token is set: "
            "set [admin] token (or IGW_ADMIN_TOKEN), or bind the admin API to 127.0.0.1"
        )
    if config.gateway.workers != 1:
        raise ConfigError("gateway.workers above 1 is not supported by this release; use 1")


def runners(gateway: Gateway) -> tuple[BoundedRunner, BoundedRunner]:
    """The public and the admin listener's runners, their connections bounded (§10.5)."""
    g = gateway.config.gateway
    limits = HeadLimits.of(g.max_header_bytes, g.header_timeout_s)
    public = BoundedRunner(
        create_public_app(gateway),
        limits=limits,
        gate=ConnectionGate(g.max_connections),
        access_log=None,
        shutdown_timeout=DRAIN_SECONDS,
        # A client that goes away cancels its request: a route's upstream call is cut at
        # once (SPEC §10.7), a stage's isolated work stopped. Admin changes are never cut.
        handler_cancellation=True,
    )
    admin = BoundedRunner(
        create_admin_app(gateway), limits=limits, access_log=None, shutdown_timeout=5
    )
    return public, admin


async def run(config: Config, *, ready: asyncio.Event | None = None) -> None:
    check_startable(config)
    gateway = Gateway(config)
    await gateway.start()
    public, admin = runners(gateway)
    await public.setup()
    await admin.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def on_signal() -> None:
        for sig in signals:  # the next one takes its default course: the end, at once
            loop.remove_signal_handler(sig)
        stop.set()

    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        await web.TCPSite(public, config.gateway.host, config.gateway.port).start()
        await web.TCPSite(admin, config.admin.host, config.admin.port).start()
        log.info(
            "integration gateway on http://%s:%d (admin http://%s:%d), repository %s",
            config.gateway.host,
            config.gateway.port,
            config.admin.host,
            config.admin.port,
            config.path(config.repository.path),
        )
        if ready is not None:
            ready.set()
        await stop.wait()
        busy = sum(application.in_flight for application in gateway.applications)
        log.info(
            "stopping: draining %d integration requests in flight (up to %g s)",
            busy,
            DRAIN_SECONDS,
        )
    finally:
        await admin.cleanup()
        await public.cleanup()
        await gateway.stop()
        log.info("stopped")


def serve(config: Config) -> None:
    logs.setup(config.gateway.log_format)
    asyncio.run(run(config))
