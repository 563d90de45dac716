"""Running the gateway: both listeners in one event loop, a graceful stop on SIGTERM.

On SIGTERM or SIGINT the gateway stops listening (health checks fail from then on, so a
load balancer moves away), lets the requests in flight finish — up to `DRAIN_SECONDS`,
after which their connections are closed and their handlers cancelled — then, within
`CLOSE_SECONDS`, closes every application (each stage's sessions and files), stops the
isolation's worker processes and the repository, and exits 0: within 35 s in all,
whatever stages are still running (SPEC §10.9). A python service's thread still inside
a call is not waited for. A second signal during the drain is not caught: it ends the
process at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from aiohttp import web

from gateway import logs
from gateway.admin import is_loopback
from gateway.config import Config, ConfigError
from gateway.lifecycle import (
    DRAIN_SECONDS,
    admin_runner,
    drain,
    log_listening,
    public_runner,
    stop_gateway,
    stop_on_signals,
)
from gateway.listener import BoundedRunner
from gateway.runtime import Gateway
from gateway.workers import run_node

log = logging.getLogger("integration_gateway")


def check_startable(config: Config) -> None:
    if not config.admin_token and not is_loopback(config.admin.host):
        raise ConfigError(
            f"admin.host = {config.admin.host!r} is not loopback and no admin token is set: "
            "set [admin] token (or IGW_ADMIN_TOKEN), or bind the admin API to 127.0.0.1"
        )


def runners(gateway: Gateway) -> tuple[BoundedRunner, BoundedRunner]:
    """The public and the admin listener's runners."""
    return public_runner(gateway), admin_runner(gateway)


async def run(config: Config, *, ready: asyncio.Event | None = None) -> None:
    """The node: one process serving both listeners, or (workers above 1) the
    supervisor with the admin API and its workers on the public port."""
    check_startable(config)
    if config.gateway.workers > 1:
        await run_node(config, ready=ready)
        return
    gateway = Gateway(config)
    await gateway.start()
    public, admin = runners(gateway)
    await public.setup()
    await admin.setup()
    stop = stop_on_signals()
    try:
        await web.TCPSite(
            public,
            config.gateway.host,
            config.gateway.port,
            ssl_context=config.tls_context("gateway"),
        ).start()
        await web.TCPSite(
            admin, config.admin.host, config.admin.port, ssl_context=config.tls_context("admin")
        ).start()
        log_listening(gateway, config.gateway.port)
        if ready is not None:
            ready.set()
        await stop.wait()
        busy = sum(application.in_flight for application in gateway.applications)
        log.info(
            "stopping: draining %d integration requests in flight (up to %g s)",
            busy,
            DRAIN_SECONDS,
        )
        await drain(gateway, (public, admin))
    finally:
        await asyncio.gather(admin.cleanup(), public.cleanup())
        await stop_gateway(gateway)
        log.info("stopped")


def serve(config: Config) -> None:
    logs.setup(config.gateway.log_format)
    asyncio.run(run(config))
    # A python service's thread still inside a call would hold the interpreter's exit up
    # (it joins them); everything the gateway holds is closed by now.
    stuck = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and t.is_alive() and not t.daemon
    ]
    if stuck:
        log.warning("exiting with %d threads still in a call", len(stuck))
        logging.shutdown()
        os._exit(0)
