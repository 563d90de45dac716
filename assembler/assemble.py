"""Assembly (SPEC §2): a chain of descriptors made a plan, in SPEC's order of checks, then
built on an app server.

`build_plan` is a plain function over the repository's entries. `Assembler` is the async
step around it: it fetches the WSDLs that by-contract stages name and nobody imported
(where the fetch rule allows it) before resolution runs, and deploys the plan's stages.
Which requests share an assembly, and where an application is hosted, is the gateway's
(its runtime owns the application list).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from appserver.application import Application
from appserver.kinds import KINDS, DeployEnv
from appserver.plan import Plan, PlannedStage, accepted_inputs, check
from appserver.server import AppServer
from assembler.contract import (
    ContractUnavailable,
    FetchedContracts,
    find_by_contract,
    is_imported,
)
from assembler.convert import insert_converters
from assembler.resolve import CheckArgs, Entries, resolve
from igwcore.descriptor import ByContract, Descriptor, canonical_descriptor
from igwcore.problems import ServiceNotFound, TypeMismatch
from repository.entry import ServiceEntry
from repository.index import EntryIndex
from repository.store import Repository

__all__ = ["Assembler", "RepositoryEntries", "build_plan", "resolved_stages"]


def build_plan(
    descriptors: Sequence[Descriptor],
    canonical: str,
    key: str,
    entries: Entries,
    *,
    auto_convert: bool,
    check_args: CheckArgs | None = None,
    content_type: str | None = None,
    request_type: str | None = None,
) -> Plan:
    """The plan of one application, in SPEC §2's order of checks: resolution (404, 409,
    422 /invalid-parameter), then with `auto_convert` the converters, then types (415,
    422 /type-mismatch).

    Without `content_type`, the links that depend on the request's type are left for
    `appserver.plan.check` to verify once a request brings one; `Plan.output` is then
    `same` where the output is the request's type. `request_type` (the type of the
    request that asked for the assembly) only orders the errors: a pipe broken whatever
    the request type is not deployed, but when an earlier stage refuses that request's
    own type, its 415 is the answer, as walking the pipe in order gives.
    """
    stages = resolved_stages(descriptors, entries, auto_convert=auto_convert, check_args=check_args)
    try:
        output = check(stages, content_type)
    except TypeMismatch:
        if content_type is None and request_type is not None:
            check(stages, request_type)
        raise
    return Plan(
        canonical=canonical, key=key, stages=stages, input=accepted_inputs(stages), output=output
    )


def resolved_stages(
    descriptors: Sequence[Descriptor],
    entries: Entries,
    *,
    auto_convert: bool,
    check_args: CheckArgs | None = None,
) -> tuple[PlannedStage, ...]:
    """The stages the descriptors resolve to, with `auto_convert`'s converters, before the
    types are checked (resolution's 404, 409 and 422 /invalid-parameter)."""
    stages = resolve(descriptors, entries, check_args=check_args)
    if auto_convert:
        stages = insert_converters(stages, entries.converters())
    return tuple(stages)


class RepositoryEntries:
    """The repository's enabled entries, as resolution asks for them, but those `held`
    back (entry id -> reason: refused by their kind's rules under this configuration);
    and those of WSDLs fetched for `wsdl:` stages. `now()` is the same read from one
    look at the repository's index, for the stages of one plan."""

    def __init__(
        self,
        repository: Repository,
        held: Mapping[str, str],
        fetched: FetchedContracts,
        index: EntryIndex | None = None,
    ) -> None:
        self.repository = repository
        self.held = held
        self.fetched = fetched
        self._index = index

    def now(self) -> RepositoryEntries:
        return RepositoryEntries(self.repository, self.held, self.fetched, self.repository.index())

    def by_name(self, name: str) -> Sequence[ServiceEntry]:
        return self._usable(self._now().by_name(name))

    def converters(self) -> Sequence[ServiceEntry]:
        return self._usable(self._now().converters())

    def _now(self) -> EntryIndex:
        return self.repository.index() if self._index is None else self._index

    def by_contract(self, url: str, operation: str) -> Sequence[ServiceEntry]:
        if self.fetched.get(url) is not None and not is_imported(self.repository, url):
            return self.fetched.entries(url, operation)
        return self._usable(find_by_contract(self.repository, url, operation))

    def _usable(self, entries: Sequence[ServiceEntry]) -> Sequence[ServiceEntry]:
        if not self.held:
            return entries
        return [e for e in entries if e.id not in self.held]


class Assembler:
    """Plans applications from the repository and builds them on app servers."""

    def __init__(
        self,
        repository: Repository,
        env: DeployEnv,
        *,
        fetched: FetchedContracts,
        auto_convert: bool,
        held: Mapping[str, str],
    ) -> None:
        self.repository = repository
        self.fetched = fetched  # the WSDLs `wsdl:` stages fetched (not imported)
        self.entries = RepositoryEntries(repository, held, fetched)
        self.env = env
        self.auto_convert = auto_convert

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
            self.entries.now(),
            auto_convert=self.auto_convert,
            check_args=self._check_args,
            content_type=content_type,
            request_type=request_type,
        )

    async def stages(self, descriptors: Sequence[Descriptor]) -> tuple[PlannedStage, ...]:
        """The stages the descriptors resolve to (converters inserted), before the types
        are checked: what a client's grant is checked against ahead of an assembly."""
        await self._contracts_ready(descriptors)
        return resolved_stages(
            descriptors,
            self.entries.now(),
            auto_convert=self.auto_convert,
            check_args=self._check_args,
        )

    async def assemble(
        self,
        descriptors: Sequence[Descriptor],
        canonical: str,
        key: str,
        server: AppServer,
        now_ns: int,
        request_type: str | None = None,
    ) -> Application:
        """Plan the application, then deploy its stages on `server` (not yet hosted)."""
        plan = await self.plan(descriptors, canonical, key, request_type=request_type)
        return await server.build(plan, now_ns)

    def assemble_now(
        self,
        descriptors: Sequence[Descriptor],
        canonical: str,
        key: str,
        server: AppServer,
        now_ns: int,
        request_type: str | None = None,
    ) -> Application | None:
        """`assemble` without a wait, when nothing in it needs one — no WSDL to look for,
        every stage deployable at once — else None, having deployed nothing. Raises the
        same problems."""
        if any(isinstance(d, ByContract) for d in descriptors):
            return None
        plan = build_plan(
            descriptors,
            canonical,
            key,
            self.entries.now(),
            auto_convert=self.auto_convert,
            check_args=self._check_args,
            request_type=request_type,
        )
        return server.build_now(plan, now_ns)

    def _check_args(self, entry: ServiceEntry, args: Mapping[str, Any]) -> None:
        KINDS[entry.kind].check_args(entry, args, self.env)

    async def _contracts_ready(self, descriptors: Sequence[Descriptor]) -> None:
        """Fetch the WSDLs that by-contract stages name and nobody imported, where SPEC §2
        and §10.3 allow it."""
        for index, d in enumerate(descriptors):
            if not isinstance(d, ByContract):
                continue
            if await asyncio.to_thread(is_imported, self.repository, d.url):
                continue
            try:
                await self.fetched.load(d.url)
            except ContractUnavailable as e:
                described = canonical_descriptor(d)
                raise ServiceNotFound(
                    f"stage {index} ({described}): {e.reason}",
                    stage=index,
                    descriptor=described,
                    reason=e.reason,
                ) from None
