"""The gateway's running state: one object owning the repository, the app servers, the
application list and the assembler, shared by the public and admin listeners."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from appserver.kinds import DeployEnv
from appserver.purge import PurgePolicy, overrides, with_overrides
from appserver.server import AppServer
from assembler.assemble import Assembler
from gateway import header
from gateway.applist import ApplicationList, Clock, PurgeReport
from gateway.config import Config
from gateway.descriptor import Descriptor
from gateway.metrics import Metrics
from gateway.proxy import Proxy
from gateway.scheduler import PurgeScheduler
from gateway.tracing import Tracing
from repository.builtins import BUILTIN_ENTRIES
from repository.store import Repository
from repository.wsdlcache import remember_imports, wsdl_cache

log = logging.getLogger("integration_gateway")

HEADER_CACHE_SIZE = 10_000
# The repository setting that holds what PUT /purge/policy set apart from config.toml.
POLICY_SETTING = "purge_policy"


@dataclass(frozen=True)
class Parsed:
    descriptors: tuple[Descriptor, ...]
    canonical: str
    key: str


class Gateway:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.tracing = Tracing.from_config(config.telemetry)
        self.repository = Repository(config.path(config.repository.path))
        self.repository.seed(BUILTIN_ENTRIES)
        if config.repository.service_dirs:
            self.repository.reload_service_dirs(
                [config.path(d) for d in config.repository.service_dirs]
            )
        self.env = DeployEnv(config=config)
        node = config.gateway.node
        servers = [AppServer(f"as{i}", node, self.env) for i in range(config.appserver.count)]
        # config.toml's [purge], then what PUT /purge/policy stored (appserver/purge.py).
        self.configured_policy = config.purge
        self.applications = ApplicationList(
            servers, self._stored_policy(), Clock(), on_purge=self._count_purge
        )
        self.metrics.watch(lambda: list(self.applications.servers.values()))
        self.assembler = Assembler(self.repository, self.applications, self.env, self.metrics)
        self.proxy = Proxy()
        # Raw header value -> parse result: a hit never parses (cachetools' LRU bounds it).
        self._parsed: LRUCache[str, Parsed] = LRUCache(maxsize=HEADER_CACHE_SIZE)
        self.scheduler = PurgeScheduler(self._scheduled_purge)
        self._scheduled: set[asyncio.Task[Any]] = set()
        self._stopped = False

    def _stored_policy(self) -> PurgePolicy:
        stored = self.repository.get_setting(POLICY_SETTING)
        if stored is None:
            return self.configured_policy
        policy, ignored = with_overrides(self.configured_policy, stored)
        if ignored:
            log.warning(
                "the stored purge policy has keys this release cannot use, ignored: %s",
                ", ".join(ignored),
            )
        kept = overrides(policy, self.configured_policy)
        if kept:
            log.info(
                "purge policy: %s set by PUT /purge/policy, over config.toml's [purge]",
                ", ".join(f"{k}={v!r}" for k, v in kept.items()),
            )
        return policy

    def parse(self, value: str) -> Parsed:
        parsed = self._parsed.get(value)
        if parsed is None:
            parsed = self._parsed[value] = self.parse_uncached(value)
        return parsed

    def parse_uncached(self, value: str) -> Parsed:
        g = self.config.gateway
        descriptors = header.parse(value, max_stages=g.max_stages, max_args=g.max_args)
        canonical = header.canonical(descriptors)
        return Parsed(descriptors, canonical, header.key(canonical))

    async def services_changed(self, ids: list[str]) -> list[str]:
        """Undeploy every application using one of `ids`; before the change is acknowledged."""
        keys = await self.applications.remove_using(ids)
        if keys:
            log.info("undeployed %d applications using %s", len(keys), ", ".join(ids))
        return keys

    async def start(self) -> None:
        # Document imports' texts, so that their stages deploy with no URL to fetch.
        remember_imports(wsdl_cache(self.env.shared), self.repository.list_imports())
        await self.proxy.start()
        self.scheduler.start(self.applications.policy)

    async def purge(self, policy: PurgePolicy, trigger: str) -> PurgeReport:
        """Purge now; `trigger` is "schedule", "request" (or "deploy", from the list)."""
        return await self.applications.purge(policy, trigger=trigger)

    def _count_purge(self, trigger: str, report: PurgeReport) -> None:
        self.metrics.scheduler_runs.labels(trigger).inc()
        self.metrics.purged.inc(len(report.purged))
        self.metrics.purged_bytes.inc(report.freed_bytes)

    async def _scheduled_purge(self) -> None:
        task = asyncio.current_task()
        if task is not None:  # so that a stop can cancel a purge under way
            self._scheduled.add(task)
        try:
            await self.purge(self.applications.policy, "schedule")
        except Exception:
            log.exception("scheduled purge failed")
        finally:
            if task is not None:
                self._scheduled.discard(task)

    async def set_policy(self, policy: PurgePolicy) -> None:
        """Store the policy (what differs from config.toml), then apply it at once."""
        stored = overrides(policy, self.configured_policy)
        await asyncio.to_thread(self.repository.put_setting, POLICY_SETTING, stored)
        self.applications.policy = policy
        self.scheduler.apply(policy)

    async def stop(self) -> None:
        """Stop purging, close every application after its requests in flight, then the
        proxy and the repository. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.scheduler.shutdown()
        for task in list(self._scheduled):
            task.cancel()
        await self.applications.close()
        await self.proxy.close()
        self.repository.close()
        self.tracing.shutdown()
