"""The application list (SPEC §6): key → deployed application, with its last use.

It is the one owner of which applications exist. Applications leave it only through
`remove()` — a purge, a DELETE, a changed service — which takes them off their application
server at once and closes them once their requests in flight have finished.

A purge works in time-boxed slices (`SLICE_S` of work, then a turn for the event loop),
so that purging 100,000 applications never holds up requests: it selects over a snapshot
of the list, and removes an application only if nobody has used it since it was chosen.
The list is a plain dict in deployment order; least recently used is the smallest
`last_used_ns` (a clock that never ties), so a use costs one assignment, and a snapshot
copies a compact array (an OrderedDict walks a linked list: 10x slower at 100,000).
Idle applications are closed one after another by a single closer task, in slices too,
started once a purge is over: two tasks slicing at once would make each turn of the
loop twice as long. One with a request in flight gets a task of its own that waits.

One purge runs at a time. A deployment with `on_deploy` holds the same lock from its
purge to its hosting, so the budget it made room in is the budget it gets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from appserver.application import Application
from appserver.purge import Budget, Candidate, PurgePolicy, Selection, fits
from appserver.server import AppServer, least_loaded
from igwcore.problems import NoCapacity

log = logging.getLogger("integration_gateway.applist")

# Work done between two turns of the event loop: well under the 10 ms that a request
# may be held up, with room for a noisy machine.
SLICE_S = 0.001


class Clock:
    """Wall-clock nanoseconds that never repeat, so two uses never tie (SPEC §6)."""

    def __init__(self) -> None:
        self._last = 0

    def now_ns(self) -> int:
        now = time.time_ns()
        self._last = now if now > self._last else self._last + 1
        return self._last


class Slices:
    """Cuts a long loop into slices of `seconds`: `if slices.due(): await slices.pause()`."""

    def __init__(self, seconds: float = SLICE_S) -> None:
        self._seconds = seconds
        self._ends = time.perf_counter() + seconds

    def due(self) -> bool:
        return time.perf_counter() >= self._ends

    async def pause(self) -> None:
        await asyncio.sleep(0)
        self._ends = time.perf_counter() + self._seconds


@dataclass(frozen=True)
class PurgeReport:
    purged: list[str]
    freed_bytes: int
    remaining: int

    def to_json(self) -> dict[str, object]:
        return {"purged": self.purged, "freed_bytes": self.freed_bytes, "remaining": self.remaining}


# Told of every purge run: its trigger ("schedule", "request" or "deploy") and its report.
PurgeObserver = Callable[[str, PurgeReport], None]


class ApplicationList:
    def __init__(
        self,
        servers: list[AppServer],
        policy: PurgePolicy,
        clock: Clock,
        *,
        on_purge: PurgeObserver | None = None,
    ) -> None:
        self.servers = {s.name: s for s in servers}
        self.policy = policy
        self.clock = clock
        self._on_purge = on_purge
        self._apps: dict[str, Application] = {}
        # Service id -> keys of the applications using it, so that a changed service
        # finds its applications without a walk over the whole list.
        self._users: dict[str, set[str]] = {}
        self._purging = asyncio.Lock()
        self._to_close: deque[Application] = deque()
        self._closer: asyncio.Task[None] | None = None
        self._purge_running = False
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._apps)

    def __iter__(self) -> Iterator[Application]:
        return iter(list(self._apps.values()))

    def get(self, key: str) -> Application | None:
        return self._apps.get(key)

    def touch(self, application: Application, *, hit: bool) -> None:
        """Record a use: `last_used`, `hits` when it was a hit, and the size as it is now
        (measured again only when one of its stages may have grown)."""
        application.last_used_ns = self.clock.now_ns()
        application.hits += hit
        if not application.fixed_size:
            self.servers[application.app_server].remeasure(application)

    def place(self) -> AppServer:
        return least_loaded(self.servers.values())

    async def add(self, application: Application) -> None:
        """Host a built application; with `on_deploy`, purge first so the budget holds
        after it (SPEC §6), or answer 503 /no-capacity when nothing could go."""
        server = self.servers[application.app_server]
        if not self.policy.on_deploy:
            self._host(server, application)
            return
        async with self._purging:
            while not self._has_room(server, application):
                room = {server.name: Budget(1, application.size_bytes())}
                report = await self._purge(self.policy, reserve=room)
                self._observe("deploy", report)
                # Nothing went: every application left is in flight (or the budget
                # cannot hold this one at all). Something went: try again, as one chosen
                # may have been used meanwhile.
                if not report.purged and not self._has_room(server, application):
                    raise self._no_capacity(server, application)
            self._host(server, application)

    def add_now(self, application: Application) -> bool:
        """`add` when it needs no wait: without `on_deploy`, or with room in the budget and
        no purge under way. False: nothing was done (`add` is to be awaited)."""
        server = self.servers[application.app_server]
        if self.policy.on_deploy and (
            self._purging.locked() or not self._has_room(server, application)
        ):
            return False
        self._host(server, application)
        return True

    def _has_room(self, server: AppServer, application: Application) -> bool:
        return fits(
            self.policy, len(server.applications) + 1, server.size_bytes + application.size_bytes()
        )

    def _no_capacity(self, server: AppServer, application: Application) -> NoCapacity:
        p = self.policy
        if not fits(p, 1, application.size_bytes()):
            return NoCapacity(
                f"the application alone ({application.size_bytes()} bytes) is over the purge "
                f"policy's budget (max_apps {p.max_apps}, max_bytes {p.max_bytes})"
            )
        return NoCapacity(
            f"application server {server.name} is full of applications with requests in flight "
            f"({len(server.applications)} of max_apps {p.max_apps}, {server.size_bytes} of "
            f"max_bytes {p.max_bytes} bytes); try again soon"
        )

    def _host(self, server: AppServer, application: Application) -> None:
        server.host(application)
        self._apps[application.key] = application
        for service in application.service_ids:
            self._users.setdefault(service, set()).add(application.key)

    def remove(self, keys: Iterable[str]) -> list[Application]:
        """Take applications off the list now; close each once its requests are done."""
        removed = []
        for key in keys:
            application = self._apps.pop(key, None)
            if application is not None:
                self._retire(application)
                removed.append(application)
        return removed

    def _retire(self, application: Application) -> None:
        self.servers[application.app_server].release(application.key)
        for service in application.service_ids:
            users = self._users.get(service)
            if users is not None:
                users.discard(application.key)
                if not users:
                    del self._users[service]
        if application.in_flight:
            self._close_after_requests(application)
            return
        self._to_close.append(application)
        if not self._purge_running:
            self._start_closer()

    def _start_closer(self) -> None:
        if self._closer is None and self._to_close:
            self._closer = asyncio.get_running_loop().create_task(self._close_idle())

    def _close_after_requests(self, application: Application) -> None:
        task = asyncio.get_running_loop().create_task(application.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_idle(self) -> None:
        """Close retired applications one by one, giving the event loop turns between."""
        slices = Slices()
        try:
            while self._to_close:
                application = self._to_close.popleft()
                if application.in_flight:  # a request took it just before it left the list
                    self._close_after_requests(application)
                else:
                    await application.close()
                if slices.due():
                    await slices.pause()
        finally:
            self._closer = None

    def using(self, service_ids: Iterable[str]) -> list[str]:
        keys: set[str] = set()
        for service in service_ids:
            keys |= self._users.get(service, set())
        return sorted(keys)

    async def remove_using(self, service_ids: Iterable[str]) -> list[str]:
        """Take every application using one of `service_ids` off the list, in slices (a
        service used by 100,000 applications must not hold up requests); answer the keys."""
        keys = self.using(service_ids)
        slices = Slices()
        for key in keys:
            self.remove([key])
            if slices.due():
                await slices.pause()
        return keys

    def candidates(self) -> Iterator[Candidate]:
        """Every application as selection sees it."""
        for application in list(self._apps.values()):
            yield _candidate(application)

    async def purge(
        self,
        policy: PurgePolicy,
        *,
        trigger: str = "request",
        reserve: dict[str, Budget] | None = None,
    ) -> PurgeReport:
        """Purge now under `policy` (SPEC §6); `trigger` names the run to the observer."""
        async with self._purging:
            report = await self._purge(policy, reserve=reserve)
        self._observe(trigger, report)
        return report

    async def _purge(
        self, policy: PurgePolicy, *, reserve: dict[str, Budget] | None
    ) -> PurgeReport:
        self._purge_running = True
        try:
            return await self._select_and_remove(policy, reserve)
        finally:
            self._purge_running = False
            self._start_closer()

    async def _select_and_remove(
        self, policy: PurgePolicy, reserve: dict[str, Budget] | None
    ) -> PurgeReport:
        slices = Slices()
        selection = Selection(policy, self.clock.now_ns(), reserve=reserve)
        purged: list[str] = []
        freed = 0
        # A snapshot, as the list changes between slices. Popped as it is read, so that
        # nothing big is left to free in one go at the end.
        snapshot = list(self._apps.values())
        snapshot.reverse()
        while snapshot:
            application = snapshot.pop()
            if self._apps.get(application.key) is application and selection.offer(
                _candidate(application)
            ):
                freed += self._take(application)
                purged.append(application.key)
            if slices.due():
                await slices.pause()
        for candidate in selection.over_budget():
            application = self._apps.get(candidate.key)
            # Used since it was offered (or gone, or deployed anew): it stays.
            if (
                application is not None
                and application.last_used_ns == candidate.last_used_ns
                and not application.in_flight
            ):
                freed += self._take(application)
                purged.append(application.key)
            if slices.due():
                await slices.pause()
        for _ in selection.discard():
            if slices.due():
                await slices.pause()
        if purged:
            log.info("purged %d applications, %d bytes", len(purged), freed)
        return PurgeReport(purged, freed, len(self._apps))

    def _take(self, application: Application) -> int:
        del self._apps[application.key]
        self._retire(application)
        return application.size_bytes()

    def _observe(self, trigger: str, report: PurgeReport) -> None:
        if self._on_purge is not None:
            self._on_purge(trigger, report)

    async def wait_closed(self) -> None:
        """Wait until every application taken off the list has been closed."""
        self._start_closer()
        while self._closer is not None or self._closing:
            pending = [t for t in (self._closer, *self._closing) if t is not None]
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        """Close every application (after its requests in flight) — for shutdown."""
        self.remove(list(self._apps))
        await self.wait_closed()


def _candidate(application: Application) -> Candidate:
    return Candidate(
        application.key,
        application.app_server,
        application.last_used_ns,
        application.in_flight,
        application.size_bytes(),
    )
