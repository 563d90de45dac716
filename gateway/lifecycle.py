"""How a gateway process starts its listeners and stops: the runners of the public and
admin listeners, the drain of requests in flight and the close, within SPEC §10.9's
35 s (one process, or each of a node's workers and its supervisor)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from gateway.admin import create_admin_app
from gateway.listener import CLOSE_GRACE_S, BoundedRunner, ConnectionGate, HeadLimits
from gateway.public import create_public_app
from gateway.runtime import Gateway

log = logging.getLogger("integration_gateway")

# How long a stop waits for requests in flight before it closes their connections, and
# then for the gateway to close what it holds.
DRAIN_SECONDS = 30.0
CUT_SECONDS = 0.5  # past the drain, for handlers to end once cancelled (aiohttp waits twice)
CLOSE_SECONDS = 3.0


def public_runner(gateway: Gateway) -> BoundedRunner:
    """The public listener's runner, its connections bounded (§10.5)."""
    g = gateway.config.gateway
    return BoundedRunner(
        create_public_app(gateway),
        limits=HeadLimits.of(g.max_header_bytes, g.header_timeout_s),
        gate=ConnectionGate(g.max_connections),
        access_log=None,
        shutdown_timeout=CUT_SECONDS,
        # A client that goes away cancels its request: a route's upstream call is cut at
        # once (SPEC §10.7), a stage's isolated work stopped. Admin changes are never cut.
        handler_cancellation=True,
    )


def admin_runner(gateway: Gateway) -> BoundedRunner:
    g = gateway.config.gateway
    return BoundedRunner(
        create_admin_app(gateway),
        limits=HeadLimits.of(g.max_header_bytes, g.header_timeout_s),
        access_log=None,
        shutdown_timeout=CUT_SECONDS,
    )


def stop_on_signals() -> asyncio.Event:
    """Set at SIGTERM or SIGINT; the next one takes its default course (the end, at once)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def on_signal() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)
        stop.set()

    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    return stop


async def stop_gateway(gateway: Gateway) -> None:
    try:
        await asyncio.wait_for(gateway.stop(), CLOSE_SECONDS)
    except TimeoutError:
        log.warning("stopping: not closed within %g s; exiting all the same", CLOSE_SECONDS)
        gateway.env.close()  # the worker processes go in any case


async def drain(gateway: Gateway, runners: tuple[web.AppRunner, ...]) -> None:
    """Stop listening and close idle connections, then give the requests in progress up
    to DRAIN_SECONDS to finish (aiohttp's own shutdown waits twice its timeout when a
    handler does not end)."""
    for runner in runners:
        for site in list(runner.sites):
            await site.stop()
        if runner.server is not None:
            runner.server.pre_shutdown()  # each connection closes after its answer
    # A request already on its way on an idle connection has CLOSE_GRACE_S to arrive.
    await asyncio.sleep(CLOSE_GRACE_S)
    deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
    while gateway.requests_in_progress and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


def log_listening(gateway: Gateway, port: int) -> None:
    """The start's line: where both listeners are (https:// where TLS is on), the
    workers, the repository."""
    config = gateway.config
    workers = config.gateway.workers
    log.info(
        "integration gateway on %s%s (admin %s), repository %s",
        listener_url(config.gateway.host, port, tls=bool(config.gateway.tls_cert)),
        f" with {workers} workers" if workers > 1 else "",
        listener_url(config.admin.host, config.admin.port, tls=bool(config.admin.tls_cert)),
        gateway.repository_name,
    )


def listener_url(host: str, port: int, *, tls: bool) -> str:
    """`http[s]://host:port`, an IPv6 address in brackets."""
    return f"{'https' if tls else 'http'}://{f'[{host}]' if ':' in host else host}:{port}"
