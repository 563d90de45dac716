"""The application list (SPEC §6): key → deployed application, in least-recently-used order.

It is the one owner of which applications exist. Applications leave it only through
`remove()` — a purge, a DELETE, a changed service — which takes them off their app
server at once and closes them once their requests in flight have finished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from appserver.application import Application
from appserver.purge import Budget, Candidate, PurgePolicy, select
from appserver.server import AppServer, least_loaded
from gateway.problems import NoCapacity

log = logging.getLogger("integration_gateway.applist")


class Clock:
    """Wall-clock nanoseconds that never repeat, so two uses never tie (SPEC §6)."""

    def __init__(self) -> None:
        self._last = 0

    def now_ns(self) -> int:
        now = time.time_ns()
        self._last = now if now > self._last else self._last + 1
        return self._last


@dataclass(frozen=True)
class PurgeReport:
    purged: list[str]
    freed_bytes: int
    remaining: int

    def to_json(self) -> dict[str, object]:
        return {"purged": self.purged, "freed_bytes": self.freed_bytes, "remaining": self.remaining}


class ApplicationList:
    def __init__(self, servers: list[AppServer], policy: PurgePolicy, clock: Clock) -> None:
        self.servers = {s.name: s for s in servers}
        self.policy = policy
        self.clock = clock
        self._apps: OrderedDict[str, Application] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self.purged_total = 0
        self.purged_bytes_total = 0

    def __len__(self) -> int:
        return len(self._apps)

    def __iter__(self) -> Iterator[Application]:
        return iter(list(self._apps.values()))

    def get(self, key: str) -> Application | None:
        return self._apps.get(key)

    def touch(self, app: Application, *, hit: bool) -> None:
        """Record a use: `last_used`, the LRU order, and `hits` when it was a hit."""
        app.last_used_ns = self.clock.now_ns()
        app.hits += hit
        if app.key in self._apps:
            self._apps.move_to_end(app.key)

    def place(self) -> AppServer:
        return least_loaded(self.servers.values())

    async def add(self, app: Application) -> None:
        """Host a built application; with `on_deploy`, purge first so the budget holds."""
        server = self.servers[app.app_server]
        if self.policy.on_deploy:
            room = {server.name: Budget(1, app.size_bytes())}
            await self.purge(self.policy, reserve=room)
            n = len(server.applications) + 1
            b = server.size_bytes + app.size_bytes()
            if n > self.policy.max_apps or b > self.policy.max_bytes:
                raise NoCapacity(
                    f"app server {server.name} is full of applications with requests in "
                    f"flight ({len(server.applications)} of max_apps {self.policy.max_apps}, "
                    f"{server.size_bytes} of max_bytes {self.policy.max_bytes}); try again soon"
                )
        server.host(app)
        self._apps[app.key] = app

    def remove(self, keys: Iterable[str]) -> list[Application]:
        """Take applications off the list now; close each once its requests are done."""
        removed = []
        for key in keys:
            app = self._apps.pop(key, None)
            if app is None:
                continue
            self.servers[app.app_server].release(key)
            removed.append(app)
            task = asyncio.get_running_loop().create_task(app.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return removed

    def using(self, service_ids: Iterable[str]) -> list[str]:
        wanted = set(service_ids)
        return [
            app.key
            for app in self._apps.values()
            if any(s.service.id in wanted for s in app.plan.stages)
        ]

    def candidates(self) -> Iterator[Candidate]:
        for app in list(self._apps.values()):
            yield Candidate(
                app.key, app.app_server, app.last_used_ns, app.in_flight, app.size_bytes()
            )

    async def purge(
        self, policy: PurgePolicy, *, reserve: dict[str, Budget] | None = None
    ) -> PurgeReport:
        keys = select(self.candidates(), policy, self.clock.now_ns(), reserve=reserve)
        removed = self.remove(keys)
        freed = sum(a.size_bytes() for a in removed)
        self.purged_total += len(removed)
        self.purged_bytes_total += freed
        if removed:
            log.info("purged %d applications, %d bytes", len(removed), freed)
        return PurgeReport([a.key for a in removed], freed, len(self._apps))

    async def close(self) -> None:
        """Close every application (after its requests in flight) — for shutdown."""
        self.remove(list(self._apps))
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
