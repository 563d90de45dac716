"""Several worker processes on one machine (`[gateway] workers`; issue 13, SPEC §6).

One Python process uses one core. With `workers = N` above 1 the node's first process,
the supervisor, keeps the admin API, the schedules (purges, import refreshes, audit
pruning: once a node) and the repository's notifications; it starts N worker processes,
each serving the public port (SO_REUSEPORT: the kernel spreads connections over them)
with an application list of its own, and tells them of every change over their control
sockets (`gateway.control`) before the change is acknowledged.

- The supervisor binds the public port first, without listening: a port in use stops
  the start with a clear message, and no other program can take it while the node runs.
- A worker that dies is started again (at once; after a second, then longer, if it keeps
  dying within `STEADY_S` of its start). A worker dies with its supervisor (Linux's
  parent-death signal), so a killed supervisor leaves no orphan serving the port.
- SIGTERM or SIGINT to the supervisor stops the admin API, then every worker drains its
  requests in flight as a single process does (`gateway.serve`), within 35 s; a worker
  still running after `STOP_S` is killed.
- `max_connections` holds for the node: each worker serves its share.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path

from aiohttp import web

from gateway import logs
from gateway.config import Config, ConfigError
from gateway.control import Peer, control_app, wait_ready
from gateway.lifecycle import (
    DRAIN_SECONDS,
    admin_runner,
    drain,
    listener_url,
    log_listening,
    public_runner,
    stop_gateway,
    stop_on_signals,
)
from gateway.runtime import Gateway

log = logging.getLogger("integration_gateway.workers")

START_S = 60.0  # a worker's start, until its public port listens
STEADY_S = 10.0  # a worker that dies sooner after its start is started again more slowly
STOP_S = 40.0  # past the drain (30 s) and the close (3 s): the workers are killed
PR_SET_PDEATHSIG = 1


@dataclass
class Worker:
    peer: Peer
    process: BaseProcess | None = None
    started: float = 0.0
    failures: int = 0  # deaths in a row, each soon after its start


class Supervisor:
    """The node's worker processes: started, watched, restarted, stopped."""

    def __init__(self, config: Config, gateway: Gateway) -> None:
        self.config = config
        self.gateway = gateway
        self._port = reserve_port(config.gateway.host, config.gateway.port)
        self.port = self._port.getsockname()[1]  # port 0: the one the kernel chose, for all
        self.folder = Path(tempfile.mkdtemp(prefix="igw-"))  # 0700: the control sockets
        count = config.gateway.workers
        share = math.ceil(config.gateway.max_connections / count)
        self._worker_config = replace(
            config, gateway=replace(config.gateway, max_connections=share, port=self.port)
        )
        self.workers = [Worker(Peer(n, self.folder / f"w{n}.sock")) for n in range(count)]
        gateway.peers.peers = [w.peer for w in self.workers]
        gateway.peers.on_silent = self.restart
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Every worker started and listening; ConfigError if one cannot start."""
        for worker in self.workers:
            self._spawn(worker)
        for worker in self.workers:
            if not await self._ready(worker):
                code = worker.process.exitcode if worker.process else None
                raise ConfigError(
                    f"worker {worker.peer.number} did not start (exit status {code}); "
                    "its log lines above say why"
                )
        self._watch = asyncio.get_running_loop().create_task(self._watching())

    def _spawn(self, worker: Worker) -> None:
        with contextlib.suppress(FileNotFoundError):
            worker.peer.socket.unlink()
        process = self._context.Process(
            target=worker_main,
            args=(self._worker_config, worker.peer.number, str(worker.peer.socket)),
            name=f"igw-worker-{worker.peer.number}",
        )
        process.start()
        worker.process = process
        worker.started = time.monotonic()
        log.info("worker %d started (pid %d)", worker.peer.number, process.pid)

    async def _ready(self, worker: Worker) -> bool:
        process = worker.process
        assert process is not None
        return await wait_ready(worker.peer, alive=process.is_alive, within=START_S)

    async def _watching(self) -> None:
        """Start again each worker that died."""
        while not self._stopping:
            await asyncio.sleep(0.2)
            for worker in self.workers:
                process = worker.process
                if self._stopping or process is None or process.is_alive():
                    continue
                await self._revive(worker, process.exitcode)

    async def _revive(self, worker: Worker, code: int | None) -> None:
        worker.peer.ready = False
        if worker.peer.session is not None:
            await worker.peer.session.close()
            worker.peer.session = None
        soon = time.monotonic() - worker.started < STEADY_S
        worker.failures = worker.failures + 1 if soon else 0
        pause = min(30.0, 2.0 ** (worker.failures - 1)) if worker.failures > 1 else 0.0
        log.warning(
            "worker %d ended (exit status %s); starting it again%s",
            worker.peer.number,
            code,
            f" in {pause:g} s" if pause else "",
        )
        await asyncio.sleep(pause)
        if self._stopping:
            return
        self._spawn(worker)
        if not await self._ready(worker):
            log.error("worker %d did not start again", worker.peer.number)

    async def restart(self, number: int) -> None:
        """Stop worker `number` at once (it did not answer); the watch starts it again."""
        worker = self.workers[number]
        worker.peer.ready = False
        process = worker.process
        if process is not None and process.is_alive():
            process.kill()

    async def stop(self) -> None:
        """SIGTERM to every worker; wait for their drains, then kill what is left."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        processes = [w.process for w in self.workers if w.process is not None]
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_S
        while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for process in processes:
            if process.is_alive():
                log.warning("worker %s still running after %g s: killed", process.name, STOP_S)
                process.kill()
            process.join(1)
        await self.gateway.peers.close()
        self._port.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def reserve_port(host: str, port: int) -> socket.socket:
    """The public port bound (not listening) with SO_REUSEPORT, so that the workers may
    bind it too and nobody else can; ConfigError naming the port when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reserved.bind((host, port))
    except OSError as e:
        reserved.close()
        raise ConfigError(
            f"gateway.port {port} on {host} cannot be used: {e.strerror} "
            "(another program listens there? choose another with --port)"
        ) from None
    return reserved


# -- a worker process ------------------------------------------------------------------


def worker_main(config: Config, number: int, control: str) -> None:
    """A worker process's body (spawned by the supervisor)."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: end with the supervisor
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the supervisor's
    logs.setup(config.gateway.log_format, worker=number)
    asyncio.run(run_worker(config, number, control))


async def run_worker(config: Config, number: int, control: str) -> None:
    gateway = Gateway(config, role="worker", worker=number)
    await gateway.start()
    serving = False
    controls = web.AppRunner(control_app(gateway, ready=lambda: serving), access_log=None)
    await controls.setup()
    await web.UnixSite(controls, control).start()
    # From here on every change reaches this worker; one made since the repository was
    # opened (another node's, in a shared one) is read now.
    await gateway.sync.resynchronise()
    public = public_runner(gateway)
    await public.setup()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        site = web.TCPSite(
            public,
            config.gateway.host,
            config.gateway.port,
            reuse_port=True,
            ssl_context=config.tls_context("gateway"),
        )
        await site.start()
        serving = True
        url = listener_url(
            config.gateway.host, config.gateway.port, tls=bool(config.gateway.tls_cert)
        )
        log.info("worker %d serving %s", number, url)
        await stop.wait()
        await drain(gateway, (public,))
    finally:
        await public.cleanup()
        await controls.cleanup()
        await stop_gateway(gateway)


async def run_node(config: Config, *, ready: asyncio.Event | None = None) -> None:
    """The supervisor of `[gateway] workers` processes (gateway.workers)."""
    gateway = Gateway(config, role="supervisor")
    await gateway.start()
    supervisor: Supervisor | None = None
    admin = admin_runner(gateway)
    await admin.setup()
    stop = stop_on_signals()
    try:
        supervisor = Supervisor(config, gateway)
        await supervisor.start()
        await web.TCPSite(
            admin, config.admin.host, config.admin.port, ssl_context=config.tls_context("admin")
        ).start()
        log_listening(gateway, supervisor.port)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: the workers drain their requests in flight (up to %g s)", DRAIN_SECONDS)
        await drain(gateway, (admin,))
    finally:
        await admin.cleanup()
        if supervisor is not None:
            await supervisor.stop()
        await stop_gateway(gateway)
        log.info("stopped")
