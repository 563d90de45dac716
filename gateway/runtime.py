"""The gateway's running state: one object owning the repository, the app servers, the
application list, the assembler and the assemblies under way, shared by the public and
admin listeners. It is where `Config` becomes the plain values the layers below take."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from cachetools import LRUCache
from prometheus_client import CollectorRegistry, generate_latest

from appserver.application import Application
from appserver.kinds import KINDS, DeployEnv, target_check
from appserver.plan import Plan, accepted_inputs, check
from appserver.purge import PurgePolicy, overrides, with_overrides
from appserver.sandbox import Sandbox
from appserver.server import AppServer
from assembler.assemble import Assembler
from assembler.contract import FetchedContracts
from assembler.convert import insert_converters
from assembler.suggest import NameGroups, similar_names
from gateway import header
from gateway.applist import ApplicationList, Clock, PurgeReport
from gateway.audit import AuditLog
from gateway.clients import Clients
from gateway.config import SERVICE_SETTINGS, Config
from gateway.control import NodeChange, Peers, Summed, summed
from gateway.imports import Refresher
from gateway.metrics import Metrics
from gateway.proxy import Proxy
from gateway.scheduler import PurgeScheduler
from gateway.sync import POLICY_SETTING, NodeSync
from gateway.tracing import Tracing
from igwcore import mediatype
from igwcore.descriptor import ByName, Descriptor
from igwcore.problems import Problem, ServiceNotFound
from repository.audit import AuditStore
from repository.builtins import BUILTIN_ENTRIES
from repository.changefeed import ChangeFeed
from repository.clients import Client, ClientStore
from repository.database import masked
from repository.entry import ServiceEntry, TargetCheck
from repository.fetch import FetchPolicy
from repository.store import Changes, Repository
from repository.wsdlcache import remember_imports, wsdl_cache

log = logging.getLogger("integration_gateway")

# What one parsed header costs besides its text (raw and canonical): the Parsed and its
# descriptors, measured with sys.getsizeof over typical pipes, rounded up.
PARSED_BYTES = 512
DESCRIPTOR_BYTES = 256
MAX_CONVERTED_TYPES = 16  # request types an application keeps a converted pipe for


CacheResult = Literal["hit", "miss", "shared"]


@dataclass(frozen=True)
class Parsed:
    descriptors: tuple[Descriptor, ...]
    canonical: str
    key: str
    raw_bytes: int = 0  # the length of the value it was parsed from

    def cost(self) -> int:
        """Bytes it holds in the header cache, the raw value's text included."""
        text = self.raw_bytes + len(self.canonical)
        return PARSED_BYTES + text + DESCRIPTOR_BYTES * len(self.descriptors)


def fetch_policy(config: Config) -> FetchPolicy:
    """`wsdl:` stages' rule for fetching a WSDL: only `[assembler] fetch_wsdl_hosts`."""
    a = config.assembler
    return FetchPolicy.only(
        a.fetch_wsdl_hosts, max_bytes=a.fetch_max_bytes, timeout_s=a.fetch_timeout_s
    )


def deploy_env(config: Config) -> DeployEnv:
    """What the kinds deploy stages with, taken from the configuration."""
    names = {*config.services, *SERVICE_SETTINGS}
    return DeployEnv(
        connections=dict(config.connections),
        settings={name: config.service_settings(name) for name in names},
        max_body_bytes=config.gateway.max_body_bytes,
        stage_timeout_s=config.gateway.stage_timeout_s,
        fetch=fetch_policy(config).any_host(),
        contract_fetch=fetch_policy(config),
        python_modules=config.repository.python_modules,
        isolation=Sandbox(config.gateway.stage_memory_bytes),
    )


# "single": the one process of a node; with `[gateway] workers` above 1, "supervisor"
# (the admin API, the schedules; no public port) and its "worker"s (the public port).
Role = Literal["single", "supervisor", "worker"]


class Gateway:
    def __init__(self, config: Config, *, role: Role = "single", worker: int | None = None) -> None:
        self.config = config
        self.role = role
        self.worker = worker
        self.metrics = Metrics()
        self.tracing = Tracing.from_config(config.telemetry)
        # This node in the shared repository's change notes: its name and this start.
        self.origin = f"{config.gateway.node}/{secrets.token_hex(4)}"
        self.repository = Repository(config.repository_target, origin=self.origin)
        self.sync = NodeSync(self)  # what other processes change
        self.feed: ChangeFeed | None = None
        if self.repository.shared and role != "worker":  # a node's workers are told
            self.feed = ChangeFeed(
                config.repository_dsn,
                origin=self.origin,
                on_change=self.sync.heard,
                on_state=self.sync.connection,
            )
        self.repository_state = "connected"  # or "disconnected" (a shared repository)
        # For logs: the SQLite file, or the dsn without its password.
        self.repository_name = masked(config.repository_dsn) or str(
            config.path(config.repository.path)
        )
        # The node's workers, told of every change before it is acknowledged (supervisor).
        self.peers = Peers()
        if role != "worker":  # the supervisor has seeded and read the files already
            self.repository.seed(BUILTIN_ENTRIES)
        # SPEC §9: clients are kept whether or not they are required, so that an operator
        # can make them before turning the requirement on.
        self.clients = Clients(ClientStore(self.repository.transaction, self.repository.rows))
        self.clients_required = config.gateway.require_client_auth
        self.audit: AuditLog | None = None
        if config.audit_enabled:
            self.audit = AuditLog(
                AuditStore(config.repository_dsn or config.path(config.audit.path)),
                self.metrics.registry,
                # Pruned once a node, by the supervisor: workers only write.
                keep_days=0 if role == "worker" else config.audit.keep_days,
            )
        self.env = deploy_env(config)
        self.check_target = target_check(self.env)
        if config.repository.service_dirs and role != "worker":
            # At start a file's entry that the kinds' rules now refuse is held back, not
            # fatal: the gateway starts, and the operator sees why in GET /services.
            self.reload_service_dirs(target_check(self.env, kinds_only=True))
        # Stored entries that the kinds' own rules refuse under this configuration (a
        # python module no longer in python_modules): kept, listed as disabled with the
        # reason, never resolved (SPEC §10.2).
        self.held: dict[str, str] = self.held_back()
        for id, reason in self.held.items():
            log.warning("service %s is held back: %s", id, reason)
        node = config.gateway.node
        servers = [AppServer(f"as{i}", node, self.env) for i in range(config.appserver.count)]
        # config.toml's [purge], then what PUT /purge/policy stored (appserver/purge.py).
        self.configured_policy = config.purge
        self.applications = ApplicationList(
            servers, self.stored_policy(), Clock(), on_purge=self._count_purge
        )
        self.metrics.watch(lambda: list(self.applications.servers.values()))
        if role != "worker":  # once a node, not summed over its workers
            self.metrics.name_node(node, config.gateway.workers)
        fetched = FetchedContracts(
            size=config.assembler.fetch_cache,
            policy=self.env.contract_fetch,
            cache=wsdl_cache(self.env.shared),
            check_target=self.check_target,
            in_use=lambda ids: bool(self.applications.using(ids)),
        )
        self.assembler = Assembler(
            self.repository,
            self.env,
            fetched=fetched,
            auto_convert=config.assembler.auto_convert,
            held=self.held,
        )
        # Assemblies under way, by key: concurrent misses for one key share one (SPEC §2).
        self._assembling: dict[str, asyncio.Task[Application]] = {}
        self.proxy = Proxy(config.routes)
        # Raw header value -> parse result: a hit never parses. Bounded in bytes of text as
        # well as entries (SPEC §10.10): cachetools' LRU weighs each by its cost.
        self._parsed: LRUCache[str, Parsed] = LRUCache(
            maxsize=config.gateway.header_cache_bytes, getsizeof=Parsed.cost
        )
        self.scheduler = PurgeScheduler(self._scheduled_purge)
        self._scheduled: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self.requests_in_progress = 0  # on both listeners, kept by the error middleware
        self._name_groups: tuple[object, int, NameGroups] | None = None
        self.refresher = Refresher(self)  # imports with refresh_s

    def stored_policy(self) -> PurgePolicy:
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
            parsed = self.parse_uncached(value)
            if parsed.cost() <= self._parsed.maxsize:
                self._parsed[value] = parsed
        return parsed

    def parse_uncached(self, value: str) -> Parsed:
        g = self.config.gateway
        descriptors, canonical_form = header.parse_canonical(
            value, max_stages=g.max_stages, max_args=g.max_args
        )
        return Parsed(descriptors, canonical_form, header.key(canonical_form), len(value))

    async def application(
        self, parsed: Parsed, request_type: str | None = None
    ) -> tuple[Application, CacheResult]:
        """The deployed application for a header: found, assembled now, or waited for.

        An assembly that needs no wait (no WSDL to look for, every stage deployable at
        once, room in the budget) is done at once: nothing can come between its steps.
        Any other runs as a task of its own, which every request for that key awaits
        shielded: a client that goes away cancels its wait, never the assembly others
        share."""
        application = self.applications.get(parsed.key)
        if application is not None:
            return application, "hit"
        pending = self._assembling.get(parsed.key)
        if pending is not None:
            return await asyncio.shield(pending), "shared"
        started = time.perf_counter()
        server = self.applications.place()
        built = self.assembler.assemble_now(
            parsed.descriptors,
            parsed.canonical,
            parsed.key,
            server,
            self.applications.clock.now_ns(),
            request_type=request_type,
        )
        if built is not None and self.applications.add_now(built):
            self._assembled(parsed, server, started)
            return built, "miss"
        if built is None:
            assembly = self._assemble(parsed, request_type)
        else:
            assembly = self._host(parsed, server, built, started)
        task = asyncio.get_running_loop().create_task(assembly)
        self._assembling[parsed.key] = task
        task.add_done_callback(lambda done: self._finished(parsed.key, done))
        return await asyncio.shield(task), "miss"

    def _finished(self, key: str, task: asyncio.Task[Application]) -> None:
        # Not remembered: the next request tries again (SPEC §2).
        if self._assembling.get(key) is task:
            del self._assembling[key]
        if not task.cancelled():
            task.exception()  # retrieved: nobody may be waiting any more

    async def _assemble(self, parsed: Parsed, request_type: str | None) -> Application:
        started = time.perf_counter()
        server = self.applications.place()
        application = await self.assembler.assemble(
            parsed.descriptors,
            parsed.canonical,
            parsed.key,
            server,
            self.applications.clock.now_ns(),
            request_type=request_type,
        )
        return await self._host(parsed, server, application, started)

    async def _host(
        self, parsed: Parsed, server: AppServer, application: Application, started: float
    ) -> Application:
        try:
            await self.applications.add(application)
        except BaseException:
            await application.close()
            raise
        self._assembled(parsed, server, started)
        return application

    def _assembled(self, parsed: Parsed, server: AppServer, started: float) -> None:
        elapsed = time.perf_counter() - started
        self.metrics.assembly.observe(elapsed)
        log.info(
            "assembled %s on %s in %.1f ms: %s",
            parsed.key,
            server.name,
            elapsed * 1000,
            parsed.canonical,
        )

    def suggested(
        self, problem: ServiceNotFound, parsed: Parsed, client: Client | None
    ) -> ServiceNotFound:
        """The 404 with `suggestions`: enabled names like the one not found, only those
        the client may use (its grant is asked of each name's entries)."""
        descriptors = parsed.descriptors
        d = descriptors[problem.stage] if 0 <= problem.stage < len(descriptors) else None
        if not isinstance(d, ByName) or problem.suggestions is not None:
            return problem
        index = self.repository.index()
        if index.by_name(d.name):
            return problem  # the name exists: its arguments or version did not match
        cached = self._name_groups
        if cached is None or cached[0] is not index or cached[1] != index.generation:
            cached = self._name_groups = (index, index.generation, NameGroups(index.names()))
        names = []
        for name in similar_names(d.name, cached[2]):
            usable = [e for e in index.by_name(name) if e.id not in self.held]
            if usable and (client is None or any(client.grant.allows(e) for e in usable)):
                names.append(name)
            if len(names) == 3:
                break
        if not names:
            return problem
        return ServiceNotFound(
            f"{problem.detail}; did you mean {' or '.join(names)}?",
            stage=problem.stage,
            descriptor=problem.descriptor,
            reason=problem.reason,
            suggestions=names,
        )

    async def converted(self, application: Application, content_type: str) -> Application:
        """The pipe an application runs for `content_type` with converters put behind its
        `same` stages (auto_convert; SPEC §2): made once a type, kept by the application.
        Raises the application's own 415 or 422 when no converter makes it fit."""
        kind = mediatype.normalize(content_type)
        known = application.for_type.get(kind)
        if known is not None:
            return known
        if len(application.for_type) >= MAX_CONVERTED_TYPES:  # a client chooses the type
            application.output_for(content_type)
        converters = self.assembler.entries.now().converters()
        stages = insert_converters(application.plan.stages, converters, request_type=kind)
        if len(stages) == len(application.plan.stages):
            application.output_for(content_type)  # raises its problem
        output = check(stages, content_type)
        base = application.plan
        plan = Plan(base.canonical, base.key, stages, accepted_inputs(stages), output)
        server = self.applications.servers[application.app_server]
        now = self.applications.clock.now_ns()
        variant = server.build_now(plan, now) or await server.build(plan, now)
        if application.closed:  # purged meanwhile: the request assembles it again
            await variant.close()
            return application
        application.for_type[kind] = variant
        log.info("%s: converters for %s requests: %s", base.key, kind, variant.stage_ids)
        return variant

    def reload_service_dirs(self, check_target: TargetCheck | None = None) -> Changes:
        """Re-read the service files of `[repository] service_dirs` (SPEC §5); InvalidEntry,
        naming the file, for one whose entry `check_target` (the kinds' rules) refuses."""
        dirs = [self.config.path(d) for d in self.config.repository.service_dirs]
        return self.repository.reload_service_dirs(
            dirs, check_target=check_target or self.check_target
        )

    def held_back(self) -> dict[str, str]:
        """Entry id -> why the kinds' own rules refuse that stored entry now."""
        return {
            entry.id: reason
            for entry in self.repository.list()
            if (reason := self.held_reason(entry)) is not None
        }

    def held_reason(self, entry: ServiceEntry) -> str | None:
        """Why the kinds' own rules refuse `entry` under this configuration, if they do."""
        errors = KINDS[entry.kind].check_target(entry.target, self.env)
        return errors[0]["reason"] if errors else None

    def entry_json(self, entry: ServiceEntry) -> dict[str, Any]:
        """An entry as the admin API shows it: a held-back one disabled, with its reason."""
        shown = entry.to_json()
        reason = self.held.get(entry.id)
        if reason is not None:
            shown.update(enabled=False, held=reason)
        return shown

    async def services_changed(self, ids: list[str]) -> list[str]:
        """Undeploy every application using one of `ids`, on every worker of the node,
        before the change is acknowledged."""
        keys = await self.applications.remove_using(ids)
        if keys:
            log.info("undeployed %d applications using %s", len(keys), ", ".join(ids))
        await self.peers.tell(NodeChange(entries=tuple(ids)))
        return keys

    async def registered(self, entries: list[ServiceEntry]) -> list[str]:
        """Undeploy the applications whose header would now resolve otherwise, `entries`
        being new or enabled again (SPEC §5): a newer version of a signature, a new
        signature or converter that makes a stage ambiguous. Those that could be touched
        (a stage of one of the names, a by-IO or inserted converter when a converter
        came, a stage of the same WSDL) are planned again and compared."""
        if not entries:
            return []
        await self.peers.tell(NodeChange(registered=tuple(e.id for e in entries)))
        names = {e.name for e in entries}
        converter = any(e.converter for e in entries)
        wsdls = {e.target.get("wsdl") for e in entries if e.kind == "soap"} - {None}
        stale = []
        for application in self.applications:
            if not any(
                s.service.name in names
                or (converter and (s.inserted or "->" in s.descriptor))
                or s.service.target.get("wsdl") in wsdls
                for s in application.plan.stages
            ):
                continue
            if await self.resolves_otherwise(application):
                stale.append(application.key)
        if stale:
            self.applications.remove(stale)
            log.info(
                "undeployed %d applications that %s now resolve otherwise",
                len(stale),
                ", ".join(sorted(e.id for e in entries)),
            )
        return stale

    async def resolves_otherwise(self, application: Application) -> bool:
        """Whether the application's header, planned now, would run other entries (or
        none: it is ambiguous now, or no longer resolves)."""
        parsed = self.parse_uncached(application.canonical)
        try:
            plan = await self.assembler.plan(parsed.descriptors, parsed.canonical, parsed.key)
        except Problem:
            return True
        return tuple(s.service.id for s in plan.stages) != application.stage_ids

    async def start(self) -> None:
        # Document imports' texts, so that their stages deploy with no URL to fetch.
        remember_imports(wsdl_cache(self.env.shared), self.repository.list_imports())
        await self.proxy.start()
        if self.feed is not None:
            await self.feed.start()
        if self.role != "worker":  # the schedules run once a node
            self.scheduler.start(self.applications.policy)
            self.refresher.start()
        if self.audit is not None:
            self.audit.start()

    async def purge(self, policy: PurgePolicy, trigger: str) -> PurgeReport:
        """Purge now, on every worker; `trigger` is "schedule", "request" (or "deploy",
        from the list)."""
        report = await self.applications.purge(policy, trigger=trigger)
        body = {"policy": policy.to_json(), "trigger": trigger}
        for _, theirs in await self.peers.ask("POST", "/purge", body):
            report = PurgeReport(
                list(dict.fromkeys([*report.purged, *theirs["purged"]])),
                report.freed_bytes + theirs["freed_bytes"],
                report.remaining + theirs["remaining"],
            )
        return report

    # --- the application lists of the node's workers --------------------------------------

    def local_records(self) -> list[dict[str, Any]]:
        """This process's applications as GET /applications shows them."""
        records = [a.record() for a in self.applications]
        if self.worker is not None:
            for record in records:
                record["worker"] = self.worker
        return records

    async def application_records(self) -> list[dict[str, Any]]:
        """Every application of the node (each worker's own list, SPEC §6)."""
        records = self.local_records()
        for _, theirs in await self.peers.ask("GET", "/applications"):
            records.extend(theirs)
        return records

    async def remove_applications(self, keys: list[str]) -> list[str]:
        """Undeploy `keys` wherever they are deployed; answer the keys found."""
        found = [a.key for a in self.applications.remove(keys)]
        for _, theirs in await self.peers.ask("POST", "/remove", {"keys": keys}):
            found.extend(theirs["removed"])
        return sorted(set(found))

    async def metrics_text(self) -> bytes:
        """The Prometheus text of the node: every worker's samples summed."""
        own = self.metrics.render()
        if not self.peers:
            return own
        families = summed([own.decode(), *await self.peers.metrics()])
        registry = CollectorRegistry()
        registry.register(Summed(families))  # type: ignore[arg-type]
        return generate_latest(registry)

    async def clients_changed(self, ids: list[str]) -> None:
        """A client made, changed or revoked here: every worker takes it again."""
        await self.peers.tell(NodeChange(clients=tuple(ids)))

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
        """Store the policy (what differs from config.toml), then apply it at once, on
        every worker."""
        stored = overrides(policy, self.configured_policy)
        await asyncio.to_thread(self.repository.put_setting, POLICY_SETTING, stored)
        self.applications.policy = policy
        self.scheduler.apply(policy)
        await self.peers.tell(NodeChange(policy=True))

    async def stop(self) -> None:
        """Stop purging, close every application after its requests in flight, then the
        proxy, the stages' workers and threads, and the repository. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self.feed is not None:
            await self.feed.stop()
        self.scheduler.shutdown()
        await self.refresher.stop()
        for task in [*self._scheduled, *self._assembling.values()]:
            task.cancel()
        self.sync.stop()
        if self.audit is not None:
            await self.audit.stop()  # the requests are drained: their records are all in
        await self.applications.close()
        await self.peers.close()
        await self.proxy.close()
        self.env.close()
        self.repository.close()
        self.tracing.shutdown()
