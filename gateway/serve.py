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
import signal
import threading

from aiohttp import web

from gateway import logs
from gateway.admin import create_admin_app, is_loopback
from gateway.config import Config, ConfigError
from gateway.listener import BoundedRunner, ConnectionGate, HeadLimits
from gateway.public import create_public_app
from gateway.runtime import Gateway

log = logging.getLogger("integration_gateway")

# How long a stop waits for requests in flight before it closes their connections, and
# then for the gateway to close what it holds.
DRAIN_SECONDS = 30.0
CUT_SECONDS = 0.5  # past the drain, for handlers to end once cancelled (aiohttp waits twice)
CLOSE_SECONDS = 3.0


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
        shutdown_timeout=CUT_SECONDS,
        # A client that goes away cancels its request: a route's upstream call is cut at
        # once (SPEC §10.7), a stage's isolated work stopped. Admin changes are never cut.
        handler_cancellation=True,
    )
    admin = BoundedRunner(
        create_admin_app(gateway), limits=limits, access_log=None, shutdown_timeout=CUT_SECONDS
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
        await _drain(gateway, (public, admin))
    finally:
        await asyncio.gather(admin.cleanup(), public.cleanup())
        try:
            await asyncio.wait_for(gateway.stop(), CLOSE_SECONDS)
        except TimeoutError:
            log.warning("stopping: not closed within %g s; exiting all the same", CLOSE_SECONDS)
            gateway.env.close()  # the worker processes go in any case
        log.info("stopped")


async def _drain(gateway: Gateway, runners: tuple[web.AppRunner, ...]) -> None:
    """Stop listening and close idle connections, then give the requests in progress up
    to DRAIN_SECONDS to finish (aiohttp's own shutdown waits twice its timeout when a
    handler does not end)."""
    for runner in runners:
        for site in list(runner.sites):
            await site.stop()
        if runner.server is not None:
            runner.server.pre_shutdown()  # each connection closes after its answer
    deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
    while gateway.requests_in_progress and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


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
