"""What another process changed in the repository, taken up by this one (issue 13;
SPEC §5, §6): a worker told by its supervisor (`gateway.control`), a node told by the
shared repository's change feed (`repository.changefeed`), and the repository lost and
back.

Entries named by a change are read again and their applications undeployed, new or
enabled ones re-planned (`Gateway.registered`), clients and the stored policy read
again; the node passes each change on to its workers. After the shared repository was
out of reach everything is read again, since what changed meanwhile was never heard. A
change whose entries cannot be read as it comes leaves them out of resolution until
they can be: they are never served as they were.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gateway.control import NodeChange
from repository.changefeed import Change
from repository.database import RepositoryUnavailable as OutOfReach
from repository.wsdlcache import remember_imports, wsdl_cache

log = logging.getLogger("integration_gateway")

# The repository setting that holds what PUT /purge/policy set apart from config.toml.
POLICY_SETTING = "purge_policy"


class NodeSync:
    """A gateway's side of its node's and its cluster's changes."""

    def __init__(self, gw: Any) -> None:  # the Gateway (gateway.runtime imports this)
        self.gw = gw
        # Entries a change named that the shared repository could not give (it went as
        # the change came): out of resolution until read again.
        self._waiting: set[str] = set()
        self._rereading: asyncio.Task[None] | None = None

    async def apply(self, change: NodeChange) -> None:
        """Take up what the repository holds now (a worker told by its supervisor; a node
        told by the shared repository's notifications): entries read again and their
        applications undeployed, clients and the policy read again."""
        if change.repository:
            self.gw.repository_state = change.repository
        try:
            await self._take_up(change)
        except OutOfReach:
            # The shared repository went as the change came: what it touched is undeployed
            # all the same, and left out of resolution until it can be read again.
            ids = [*change.entries, *change.registered]
            log.warning("the shared repository is out of reach: %d entries wait", len(ids))
            await self.gw.applications.remove_using(ids)
            await self.gw.peers.tell(NodeChange(entries=tuple(ids)))
            self._unread(ids)
            return
        if change.repository or change.resync:
            await self.gw.peers.tell(NodeChange(resync=change.resync, repository=change.repository))

    def _unread(self, ids: list[str]) -> None:
        """Entries out of resolution until read again: tried every second."""
        index = self.gw.repository.index()
        for id in ids:
            index.put(id, None)
        self._waiting.update(ids)
        if self._rereading is None or self._rereading.done():
            self._rereading = asyncio.get_running_loop().create_task(self._reread())

    async def _reread(self) -> None:
        while self._waiting:
            await asyncio.sleep(1.0)
            ids = sorted(self._waiting)
            try:
                self.gw.repository.refresh(ids)
            except OutOfReach:
                continue
            self._waiting.difference_update(ids)
            self._reheld(ids)
            log.info("read %d entries again", len(ids))

    async def _take_up(self, change: NodeChange) -> None:
        if change.resync:
            await self.resynchronise()
        ids = list(dict.fromkeys([*change.entries, *change.registered]))
        if ids:
            self.gw.repository.refresh(ids)
            self._reheld(ids)
            self._forget_contracts(ids)
        if change.entries:
            await self.gw.services_changed(list(change.entries))
        if change.registered:
            index = self.gw.repository.index()
            entries = [e for id in change.registered if (e := index.get(id)) is not None]
            await self.gw.registered(entries)
        if change.clients:
            self.gw.clients.reload(change.clients)
            await self.gw.peers.tell(NodeChange(clients=change.clients))
        if change.policy:
            self.gw.applications.policy = self.gw.stored_policy()
            if self.gw.role != "worker":
                self.gw.scheduler.apply(self.gw.applications.policy)
            await self.gw.peers.tell(NodeChange(policy=True))

    async def heard(self, change: Change) -> None:
        """Another node committed `change` to the shared repository: taken up here and
        by this node's workers (within a second of the commit: SPEC §5)."""
        ids = tuple(sorted(change.entries))
        await self.apply(
            NodeChange(
                entries=ids,
                registered=ids,  # those enabled now: re-plan what they may change
                clients=tuple(sorted(change.clients)),
                policy=POLICY_SETTING in change.settings,
                resync=change.partial,
            )
        )

    async def connection(self, connected: bool) -> None:
        """The shared repository lost (health says so, admin writes 503) or back (read
        again: what was committed meanwhile was never heard)."""
        if connected:
            log.info(
                "the shared repository is back (%s): reading it again", self.gw.repository_name
            )
            await self.apply(NodeChange(resync=True, repository="connected"))
        else:
            log.warning(
                "the shared repository is out of reach (%s): deployed applications keep "
                "serving; admin changes are refused until it is back",
                self.gw.repository_name,
            )
            await self.apply(NodeChange(repository="disconnected"))

    async def resynchronise(self) -> None:
        """Everything read again (the shared repository was out of reach: its changes
        meanwhile were missed); every application whose stages would not be chosen now,
        or whose entries changed, is undeployed."""
        self.gw.repository.resync()
        self.gw.held.clear()
        self.gw.held.update(self.gw.held_back())
        self.gw.clients.reload(None)
        self.gw.applications.policy = self.gw.stored_policy()
        if self.gw.role != "worker":
            self.gw.scheduler.apply(self.gw.applications.policy)
        remember_imports(wsdl_cache(self.gw.env.shared), self.gw.repository.list_imports())
        index = self.gw.repository.index()
        stale = []
        for application in self.gw.applications:
            if any(
                index.get(s.service.id) != s.service for s in application.plan.stages
            ) or await self.gw.resolves_otherwise(application):
                stale.append(application.key)
        if stale:
            self.gw.applications.remove(stale)
            log.info("resynchronised: undeployed %d applications", len(stale))

    def _reheld(self, ids: list[str]) -> None:
        """What the kinds' rules hold back, for entries another process changed."""
        index = self.gw.repository.index()
        for id in ids:
            self.gw.held.pop(id, None)
            entry = index.get(id)
            reason = None if entry is None else self.gw.held_reason(entry)
            if reason is not None:
                self.gw.held[id] = reason

    def _forget_contracts(self, ids: list[str]) -> None:
        """A SOAP entry another process changed may come from a WSDL imported or
        refreshed there: its parsed contract is dropped, and the imports' texts taken
        again when one is not known here."""
        cache = wsdl_cache(self.gw.env.shared)
        index = self.gw.repository.index()
        wsdls = {
            e.target.get("wsdl")
            for id in ids
            if (e := index.get(id)) is not None and e.kind == "soap"
        } - {None}
        for url in wsdls:
            cache.forget(str(url))
        if any(cache.document(str(url)) is None for url in wsdls):
            remember_imports(cache, self.gw.repository.list_imports())

    def stop(self) -> None:
        if self._rereading is not None:
            self._rereading.cancel()
