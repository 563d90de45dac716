"""What other nodes commit to a PostgreSQL repository, as it happens (LISTEN/NOTIFY).

Every row that changes in `entries`, `clients` or `settings` sends one note at commit
(schema.py's `igw_changed`): `{"o": origin, "t": "e"|"c"|"s", "id": key}`. The feed
listens on its own connection and hands the notes of other origins to `on_change`,
gathered: notes that come within GATHER_S of the one before (for at most MAX_GATHER_S)
are one `Change` an origin, so an import of 3,000 entries is one call, not 3,000. Calls
never overlap; notes that come while one runs make the next.

A lost connection is `on_state(False)`; the feed reconnects (BACKOFF_S, doubling up to
MAX_BACKOFF_S) and says `on_state(True)`: what was committed meanwhile was never heard,
so the caller resyncs. `start` raises RepositoryUnavailable when the first connection
fails (the caller cannot start without its database either).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from repository.database import CONNECT, RepositoryUnavailable, masked, reason
from repository.schema import CHANNEL

__all__ = ["Change", "ChangeFeed"]

log = logging.getLogger(__name__)

GATHER_S = 0.02
MAX_GATHER_S = 0.5  # a steady stream of notes is handed on all the same
BACKOFF_S = 0.2
MAX_BACKOFF_S = 2.0
TABLES = {"e": "entries", "c": "clients", "s": "settings"}
CONNECTED = object()  # in the queue: the connection came back
LOST = object()  # in the queue: the connection was lost


@dataclass(frozen=True)
class Change:
    """What one other node committed: the ids of the entries and clients and the keys of
    the settings inserted, updated or deleted (an import's cascade included). `partial`:
    some row's key was too long for a note; the receiver resyncs."""

    origin: str
    entries: frozenset[str] = frozenset()
    clients: frozenset[str] = frozenset()
    settings: frozenset[str] = frozenset()
    partial: bool = False


class ChangeFeed:
    """Listens on `dsn` for the changes of every origin but `origin`."""

    def __init__(
        self,
        dsn: str,
        *,
        origin: str,
        on_change: Callable[[Change], Awaitable[None]],
        on_state: Callable[[bool], Awaitable[None]],
    ) -> None:
        self._dsn = dsn
        self._origin = origin
        self._on_change = on_change
        self._on_state = on_state
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False

    async def start(self) -> None:
        """Connect and LISTEN; return once listening (RepositoryUnavailable if not)."""
        conn = await self._connect()
        self.connected = True
        self._tasks = [
            asyncio.create_task(self._listen(conn), name="changefeed-listen"),
            asyncio.create_task(self._deliver(), name="changefeed-deliver"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.connected = False

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True, **CONNECT)
            await conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError as e:
            why = reason(e, self._dsn)
            raise RepositoryUnavailable(f"{masked(self._dsn)}: cannot listen ({why})") from None
        return conn

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Put each note in the queue; when the connection is lost, say so and connect
        again until it is back."""
        while True:
            try:
                async with conn:
                    async for note in conn.notifies():
                        self._queue.put_nowait(note.payload)
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                log.warning("the change feed lost %s: %s", masked(self._dsn), reason(e, self._dsn))
            self.connected = False
            self._queue.put_nowait(LOST)
            conn = await self._reconnect()
            self.connected = True
            self._queue.put_nowait(CONNECTED)

    async def _reconnect(self) -> psycopg.AsyncConnection[Any]:
        wait = BACKOFF_S
        while True:
            await asyncio.sleep(wait)
            try:
                return await self._connect()
            except RepositoryUnavailable:
                wait = min(wait * 2, MAX_BACKOFF_S)

    async def _deliver(self) -> None:
        """Gather notes into one Change an origin and hand them on; a change of state is
        handed on in its turn, after the notes before it."""
        loop = asyncio.get_running_loop()
        while True:
            item = await self._queue.get()
            gathered = Gathered(self._origin)
            last = loop.time() + MAX_GATHER_S
            while isinstance(item, str):
                gathered.add(item)
                item = await self._next(min(loop.time() + GATHER_S, last))
            for change in gathered.changes():
                await self._call(self._on_change, change)
            if item is not None:
                await self._call(self._on_state, item is CONNECTED)

    async def _next(self, deadline: float) -> Any:
        """The queue's next item; None once `deadline` passed and the queue is empty."""
        try:
            async with asyncio.timeout_at(deadline):
                return await self._queue.get()
        except TimeoutError:
            return None

    async def _call(self, callback: Callable[[Any], Awaitable[None]], argument: Any) -> None:
        # The feed outlives a receiver's failure: the next change is handed on all the same.
        try:
            await callback(argument)
        except Exception:
            log.exception("the change feed's receiver failed on %r", argument)


class Gathered:
    """The notes of one gathering, by origin; one's own origin and notes of no known shape
    (a NOTIFY by hand) are left out."""

    def __init__(self, own: str) -> None:
        self._own = own
        self._by_origin: dict[str, dict[str, set[str]]] = {}
        self._partial: set[str] = set()

    def add(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            origin, table = note["o"], TABLES[note["t"]]
        except (ValueError, KeyError, TypeError):
            log.warning("the change feed ignores a note it cannot read: %.200r", payload)
            return
        if origin == self._own:
            return
        keys = self._by_origin.setdefault(origin, {name: set() for name in TABLES.values()})
        if isinstance(note.get("id"), str):
            keys[table].add(note["id"])
        else:
            self._partial.add(origin)

    def changes(self) -> list[Change]:
        return [
            Change(
                origin=origin,
                entries=frozenset(keys["entries"]),
                clients=frozenset(keys["clients"]),
                settings=frozenset(keys["settings"]),
                partial=origin in self._partial,
            )
            for origin, keys in self._by_origin.items()
        ]
