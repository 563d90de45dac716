"""Assembly (SPEC §2): a chain of descriptors made a plan, in SPEC's order of checks, then
built on an app server.

`build_plan` is a plain function over the repository's entries. `Assembler` is the async
step around it: it imports the WSDLs that by-contract stages name (where the fetch rule
allows it) before resolution runs, and deploys the plan's stages. Which requests share
an assembly, and where an application is hosted, is the gateway's (its runtime owns the
application list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from appserver.application import Application
from appserver.kinds import KINDS, DeployEnv
from appserver.plan import Plan, accepted_inputs, check
from appserver.server import AppServer
from assembler.contract import ContractUnavailable, ensure_imported, find_by_contract
from assembler.convert import insert_converters
from assembler.resolve import CheckArgs, Entries, resolve
from igwcore.descriptor import ByContract, Descriptor, canonical_descriptor
from igwcore.problems import ServiceNotFound, TypeMismatch
from repository.entry import ServiceEntry, TargetCheck
from repository.fetch import FetchPolicy
from repository.store import Repository
from repository.wsdlcache import wsdl_cache

__all__ = ["Assembler", "RepositoryEntries", "build_plan"]


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
    stages = resolve(descriptors, entries, check_args=check_args)
    if auto_convert:
        stages = insert_converters(stages, entries.converters())
    try:
        output = check(stages, content_type)
    except TypeMismatch:
        if content_type is None and request_type is not None:
            check(stages, request_type)
        raise
    return Plan(
        canonical=canonical, key=key, stages=stages, input=accepted_inputs(stages), output=output
    )


class RepositoryEntries:
    """The repository's enabled entries, as resolution asks for them, but those `held`
    back (entry id -> reason: refused by their kind's rules under this configuration)."""

    def __init__(self, repository: Repository, held: Mapping[str, str]) -> None:
        self.repository = repository
        self.held = held

    def by_name(self, name: str) -> Sequence[ServiceEntry]:
        return self._usable(self.repository.by_name(name))

    def converters(self) -> Sequence[ServiceEntry]:
        return self._usable(self.repository.converters())

    def by_contract(self, url: str, operation: str) -> Sequence[ServiceEntry]:
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
        contract_fetch: FetchPolicy,
        auto_convert: bool,
        check_target: TargetCheck,
        held: Mapping[str, str],
    ) -> None:
        self.repository = repository
        self.entries = RepositoryEntries(repository, held)
        self.check_target = check_target  # for the WSDLs that `wsdl:` stages import
        self.env = env
        self.contract_fetch = contract_fetch  # where `wsdl:` stages may fetch from
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
            self.entries,
            auto_convert=self.auto_convert,
            check_args=self._check_args,
            content_type=content_type,
            request_type=request_type,
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

    def _check_args(self, entry: ServiceEntry, args: Mapping[str, Any]) -> None:
        KINDS[entry.kind].check_args(entry, args, self.env)

    async def _contracts_ready(self, descriptors: Sequence[Descriptor]) -> None:
        """Import the WSDLs that by-contract stages name, where SPEC §2 allows it."""
        for index, d in enumerate(descriptors):
            if not isinstance(d, ByContract):
                continue
            try:
                await ensure_imported(
                    d.url,
                    self.repository,
                    policy=self.contract_fetch,
                    cache=wsdl_cache(self.env.shared),
                    check_target=self.check_target,
                )
            except ContractUnavailable as e:
                described = canonical_descriptor(d)
                raise ServiceNotFound(
                    f"stage {index} ({described}): {e.reason}",
                    stage=index,
                    descriptor=described,
                    reason=e.reason,
                ) from None
