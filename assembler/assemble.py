"""The async shell around resolution: single-flight assembly and deployment per key."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from appserver.application import Application
from appserver.kinds import KINDS, DeployEnv
from assembler.contract import ContractUnavailable, ensure_imported
from assembler.plan import Plan
from assembler.resolve import build_plan
from gateway.applist import ApplicationList
from gateway.descriptor import ByContract, Descriptor
from gateway.header import canonical_descriptor
from gateway.metrics import Metrics
from gateway.problems import ServiceNotFound
from repository.contract import find_by_contract
from repository.entry import ServiceEntry
from repository.store import Repository

log = logging.getLogger("integration_gateway.assembler")

CacheResult = Literal["hit", "miss", "shared"]


class RepositoryCatalog:
    """The repository as resolution sees it: enabled entries only."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    def by_name(self, name: str) -> Sequence[ServiceEntry]:
        return self.repository.by_name(name)

    def converters(self) -> Sequence[ServiceEntry]:
        return self.repository.converters()

    def by_contract(self, url: str, operation: str) -> Sequence[ServiceEntry]:
        return find_by_contract(self.repository, url, operation)


class Assembler:
    def __init__(
        self,
        repository: Repository,
        applications: ApplicationList,
        env: DeployEnv,
        metrics: Metrics,
    ) -> None:
        self.repository = repository
        self.catalog = RepositoryCatalog(repository)
        self.applications = applications
        self.env = env
        self.metrics = metrics
        self._pending: dict[str, asyncio.Future[Application]] = {}

    def _check_args(self, entry: ServiceEntry, args: Mapping[str, Any]) -> None:
        KINDS[entry.kind].check_args(entry, args, self.env)

    async def _contracts_ready(self, descriptors: Sequence[Descriptor]) -> None:
        """Import the WSDLs that by-contract stages name, where SPEC §2 allows it."""
        for index, d in enumerate(descriptors):
            if not isinstance(d, ByContract):
                continue
            try:
                await ensure_imported(
                    d.url, self.env.config, self.repository, shared=self.env.shared
                )
            except ContractUnavailable as e:
                described = canonical_descriptor(d)
                raise ServiceNotFound(
                    f"stage {index} ({described}): {e.reason}",
                    stage=index,
                    descriptor=described,
                    reason=e.reason,
                ) from None

    async def plan(
        self,
        descriptors: Sequence[Descriptor],
        canonical: str,
        key: str,
        content_type: str | None = None,
        request_type: str | None = None,
    ) -> Plan:
        """Resolve and type-check without deploying (`POST /resolve`, and every miss)."""
        await self._contracts_ready(descriptors)
        return build_plan(
            descriptors,
            canonical,
            key,
            self.catalog,
            describe=canonical_descriptor,
            auto_convert=self.env.config.assembler.auto_convert,
            check_args=self._check_args,
            content_type=content_type,
            request_type=request_type,
        )

    async def application(
        self,
        descriptors: Sequence[Descriptor],
        canonical: str,
        key: str,
        request_type: str | None = None,
    ) -> tuple[Application, CacheResult]:
        """The deployed application for `key`: found, assembled now, or waited for."""
        app = self.applications.get(key)
        if app is not None:
            return app, "hit"
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending), "shared"
        future: asyncio.Future[Application] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            app = await self._assemble(descriptors, canonical, key, request_type)
        except BaseException as e:
            # Not remembered: the next request tries again (SPEC §2).
            if not future.done():
                future.set_exception(e)
                future.exception()  # waiters may be none: keep asyncio from warning
            raise
        else:
            future.set_result(app)
            return app, "miss"
        finally:
            del self._pending[key]

    async def _assemble(
        self,
        descriptors: Sequence[Descriptor],
        canonical: str,
        key: str,
        request_type: str | None,
    ) -> Application:
        started = time.perf_counter()
        plan = await self.plan(descriptors, canonical, key, request_type=request_type)
        server = self.applications.place()
        app = await server.build(plan, self.applications.clock.now_ns())
        try:
            await self.applications.add(app)
        except BaseException:
            await app.close()
            raise
        elapsed = time.perf_counter() - started
        self.metrics.assembly.observe(elapsed)
        log.info("assembled %s on %s in %.1f ms: %s", key, server.name, elapsed * 1000, canonical)
        return app
