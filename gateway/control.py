"""How the processes of one node tell each other what changed (issue 13; SPEC §5, §6).

With `[gateway] workers` above 1, the node's first process (the supervisor) answers the
admin API and each worker serves the public port with an application list of its own.
The supervisor reaches every worker over a Unix socket of a folder only its user can
enter, by HTTP: `/changes` carries a `NodeChange` (entries, clients or the policy that
changed, in the repository already), `/applications`, `/remove` and `/purge` read and
change a worker's list, `/metrics` is its Prometheus text.

A change is acknowledged once every worker has applied it. A worker that does not answer
within `ANSWER_S` is stopped (and restarted clean by the supervisor): a change is never
acknowledged while a live worker might still serve what it undeployed. A worker that is
not listening yet has nothing deployed, and reads the repository afresh before it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("integration_gateway.workers")

ANSWER_S = 10.0  # a worker's answer to the supervisor; past it, the worker is restarted


@dataclass(frozen=True)
class NodeChange:
    """What the repository now holds otherwise than a process's memory of it."""

    entries: tuple[str, ...] = ()  # entries changed or gone: their applications go
    registered: tuple[str, ...] = ()  # new or enabled again: re-plan what they may change
    clients: tuple[str, ...] = ()  # clients changed, rotated or revoked
    policy: bool = False  # the stored purge policy changed
    resync: bool = False  # read everything again (after the repository came back)
    repository: str = ""  # "connected" or "disconnected": the shared repository's state

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeChange:
        return cls(
            entries=tuple(data.get("entries", ())),
            registered=tuple(data.get("registered", ())),
            clients=tuple(data.get("clients", ())),
            policy=bool(data.get("policy")),
            resync=bool(data.get("resync")),
            repository=str(data.get("repository", "")),
        )

    def __bool__(self) -> bool:
        return any(asdict(self).values())


@dataclass
class Peer:
    number: int
    socket: Path
    session: aiohttp.ClientSession | None = None
    ready: bool = False  # its control socket answered once since it (re)started


@dataclass
class Peers:
    """The node's workers as the supervisor reaches them; none for a single process."""

    peers: list[Peer] = field(default_factory=list)
    on_silent: Callable[[int], Awaitable[None]] | None = None  # stop and restart worker n

    def __bool__(self) -> bool:
        return bool(self.peers)

    async def tell(self, change: NodeChange) -> None:
        """Every live worker has applied `change` when this returns."""
        if self.peers and change:
            await self._each("POST", "/changes", change.to_json())

    async def ask(self, method: str, path: str, body: Any = None) -> list[tuple[int, Any]]:
        """(worker number, its JSON answer) of every live worker."""
        return await self._each(method, path, body)

    async def metrics(self) -> list[str]:
        answers = await self._each("GET", "/metrics", None, text=True)
        return [text for _, text in answers]

    async def _each(
        self, method: str, path: str, body: Any, *, text: bool = False
    ) -> list[tuple[int, Any]]:
        calls = [self._one(peer, method, path, body, text) for peer in self.peers]
        answers = await asyncio.gather(*calls)
        return [
            (peer.number, a) for peer, a in zip(self.peers, answers, strict=True) if a is not None
        ]

    async def _one(self, peer: Peer, method: str, path: str, body: Any, text: bool) -> Any:
        if not peer.ready or peer.session is None:
            return None  # starting: it reads the repository afresh before it serves
        try:
            async with asyncio.timeout(ANSWER_S):
                async with peer.session.request(
                    method, "http://worker" + path, json=body
                ) as response:
                    if response.status >= 400:
                        detail = await response.text()
                        raise RuntimeError(f"{response.status}: {detail[:300]}")
                    return await (response.text() if text else response.json())
        except (aiohttp.ClientConnectionError, FileNotFoundError, ConnectionRefusedError):
            return None  # gone: it is being restarted, with nothing deployed
        except (TimeoutError, RuntimeError, aiohttp.ClientError) as e:
            number = peer.number
            log.error("worker %d did not answer %s %s (%s): restarting it", number, method, path, e)
            if self.on_silent is not None:
                await self.on_silent(peer.number)
            return None

    async def close(self) -> None:
        for peer in self.peers:
            if peer.session is not None:
                await peer.session.close()
                peer.session = None


def connect(peer: Peer) -> None:
    """A client session over the worker's Unix socket (made anew when it restarts)."""
    peer.session = aiohttp.ClientSession(
        connector=aiohttp.UnixConnector(path=str(peer.socket), limit=8),
        timeout=aiohttp.ClientTimeout(total=ANSWER_S),
    )


async def wait_ready(peer: Peer, *, alive: Callable[[], bool], within: float) -> bool:
    """True once the worker's control socket answers; False if it died or `within` passed."""
    if peer.session is None:
        connect(peer)
    assert peer.session is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline and alive():
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            async with asyncio.timeout(1):
                async with peer.session.get("http://worker/ready") as response:
                    # Told of changes from its first answer on (it reads the repository
                    # again then), serving once it says so.
                    peer.ready = True
                    if response.status == 200:
                        return True
        await asyncio.sleep(0.05)
    return False


# -- the worker's side ---------------------------------------------------------------------


def control_app(gateway: Any, *, ready: Callable[[], bool]) -> web.Application:
    """The worker's control endpoints, for its supervisor only (a Unix socket in a 0700
    folder). `gateway` is the worker's `Gateway`."""

    async def is_ready(request: web.Request) -> web.Response:
        return web.json_response({"ready": ready()}, status=200 if ready() else 503)

    async def changes(request: web.Request) -> web.Response:
        await gateway.sync.apply(NodeChange.from_json(await request.json()))
        return web.json_response({"applied": True})

    async def applications(request: web.Request) -> web.Response:
        return web.json_response(gateway.local_records())

    async def remove(request: web.Request) -> web.Response:
        keys = (await request.json())["keys"]
        return web.json_response({"removed": [a.key for a in gateway.applications.remove(keys)]})

    async def purge(request: web.Request) -> web.Response:
        data = await request.json()
        policy = gateway.applications.policy.updated_from(data["policy"])
        report = await gateway.applications.purge(policy, trigger=data["trigger"])
        return web.json_response(report.to_json())

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=gateway.metrics.render(), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/ready", is_ready)
    app.router.add_post("/changes", changes)
    app.router.add_get("/applications", applications)
    app.router.add_post("/remove", remove)
    app.router.add_post("/purge", purge)
    app.router.add_get("/metrics", metrics)
    return app


# -- /metrics of a node ------------------------------------------------------------------


def summed(texts: Iterable[str]) -> list[Metric]:
    """The Prometheus families of several processes, each sample summed over them (a
    counter's `_created` is the earliest)."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            kept = families.setdefault(
                family.name, Metric(family.name, family.documentation, family.type)
            )
            series = values.setdefault(kept.name, {})
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if sample.name.endswith("_created"):
                    series[key] = min(series.get(key, sample.value), sample.value)
                else:
                    series[key] = series.get(key, 0.0) + sample.value
    for name, family in families.items():
        for (sample, labels), value in values[name].items():
            family.add_sample(sample, dict(labels), value)
    return list(families.values())


class Summed:
    """A collector that yields `summed(texts)` (so that `generate_latest` writes them)."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self._families)
