"""Resolution by contract (SPEC §2): the entries `wsdl:URL#Op` or `#Service.Port.Op`
means, and the import of a WSDL not yet known, which runs before resolution.

`find_by_contract` is a plain function over the repository. URLs compare canonically
(scheme added, scheme and host lower case, default port dropped, empty path `/`),
against each entry's `target.wsdl` and each import's `base_url`:

- `Op`: every enabled operation of that name, one entry per service offering it; more
  than one is for resolution to report as ambiguous (409).
- `Service.Port.Op`: the entry of that service and operation if it uses that port;
  else, when the port is another SOAP port offering the operation (`target.ports`), the
  entry with `target.port` changed. The derived entry keeps the imported entry's id, so
  that changing or removing that entry reaches applications using any of its ports.

A WSDL that is imported (by an import whose URL or base URL is this one, or by enabled
soap entries naming it) resolves from the repository. One that is not is fetched, before
resolution runs, by `FetchedContracts` (SPEC §10.3): only under the rule it is given
(http or https, a host of `[assembler] fetch_wsdl_hosts`, every redirect and nested
import held to the same rule), kept in memory, never imported, and used only where the
address a stage would call is allowed too. The parse goes into the gateway's
`WsdlCache`, so the stages deployed next use it without a second parse. Fetches of one
URL are serialized, and a failure is not remembered.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from igwcore.problems import InvalidEntry, NoCapacity
from igwcore.urls import canonical_url, same_url
from repository.entry import ServiceEntry, TargetCheck
from repository.fetch import (
    FetchFailed,
    FetchPolicy,
    FetchRefused,
    NotAWsdl,
    WsdlUnavailable,
    host_of,
)
from repository.store import Repository
from repository.wsdl import entries_from
from repository.wsdlcache import WsdlCache

__all__ = [
    "ContractUnavailable",
    "Fetched",
    "FetchedContracts",
    "find_by_contract",
    "is_imported",
    "select_operation",
]

KIND = "soap"
VERSION = "1.0.0"


def find_by_contract(repository: Repository, url: str, operation: str) -> list[ServiceEntry]:
    """The enabled imported SOAP entries `wsdl:URL#operation` may mean (none, one, several)."""
    return select_operation(entries_of(repository, url), operation)


def select_operation(entries: Iterable[ServiceEntry], operation: str) -> list[ServiceEntry]:
    """Of one WSDL's entries, those `Op` or `Service.Port.Op` names."""
    parts = operation.split(".")
    if len(parts) != 3:
        return [e for e in entries if e.target.get("operation") == operation]
    service, port, op = parts
    found: list[ServiceEntry] = []
    for entry in entries:
        target = entry.target
        if target.get("service") != service or target.get("operation") != op:
            continue
        if target.get("port") == port:
            found.append(entry)
        elif port in target.get("ports", ()):
            found.append(on_port(entry, port))
    return found


def entries_of(repository: Repository, url: str) -> list[ServiceEntry]:
    """The enabled SOAP entries of the WSDL at `url` (or imported with that base URL)."""
    canonical = canonical_url(url)
    entries = list(repository.by_target(KIND, wsdl=canonical))
    if not entries:
        # Entries written by hand may spell the URL another way.
        entries = [
            e for e in repository.by_target(KIND) if same_url(e.target.get("wsdl"), canonical)
        ]
    seen = {e.id for e in entries}
    for record in repository.list_imports():
        if record.kind != "wsdl" or not same_url(record.base_url, canonical):
            continue
        for entry in repository.import_entries(record.id):
            if entry.kind == KIND and entry.enabled and entry.id not in seen:
                seen.add(entry.id)
                entries.append(entry)
    return entries


def on_port(entry: ServiceEntry, port: str) -> ServiceEntry:
    """The entry, calling its operation through another port of its service."""
    target = {**entry.target, "port": port}
    t = entry.target
    description = f"SOAP operation {t['service']}.{port}.{t['operation']} of {t['wsdl']}"
    return dataclasses.replace(entry, target=target, description=description)


# -- fetching a WSDL not yet known ----------------------------------------------------


class ContractUnavailable(LookupError):
    """The WSDL cannot be had: 404 /service-not-found with this `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    """A WSDL fetched for `wsdl:` stages: its entries (ids `wsdl:URL#Service.Port.Op`)
    and the address each (service, port) would call."""

    url: str
    entries: tuple[ServiceEntry, ...]
    addresses: Mapping[tuple[str, str], str]


class FetchedContracts:
    """WSDLs fetched for `wsdl:` stages (SPEC §10.3), kept in memory only: never imports,
    never found by name, at most `size` of them.

    A fetched WSDL is used only when the address its stage would call is on a host that
    `policy` allows. Past `size`, the least recently used WSDL that no deployed
    application uses goes (`in_use` asks the application list); when every one is in use,
    the new one is 503 /no-capacity. A failure is not remembered. What a failed fetch
    says is only that: a client learns nothing of hosts it may not reach.
    """

    def __init__(
        self,
        *,
        size: int,
        policy: FetchPolicy,
        cache: WsdlCache,
        check_target: TargetCheck,
        in_use: Callable[[Iterable[str]], bool],
    ) -> None:
        self.size = size
        self.policy = policy
        self._cache = cache
        self._check_target = check_target
        self._in_use = in_use
        self._fetched: OrderedDict[str, Fetched] = OrderedDict()

    def get(self, url: str) -> Fetched | None:
        """The WSDL fetched from (canonical) `url`, marked as just used."""
        found = self._fetched.get(url)
        if found is not None:
            self._fetched.move_to_end(url)
        return found

    async def load(self, url: str) -> Fetched:
        """The WSDL at (canonical) `url`, fetched under the policy if it is not here."""
        async with self._cache.lock(url):
            found = self.get(url)
            if found is not None:
                return found
            try:
                self.policy.check(url)  # only this refusal says why: the client chose the URL
            except FetchRefused as e:
                raise ContractUnavailable(e.reason) from e
            try:
                wsdl = await self._cache.load(url, self.policy)
                entries = await asyncio.to_thread(
                    entries_from, wsdl, version=VERSION, check_target=self._check_target
                )
            except FetchFailed as e:
                status = f" (HTTP {e.status})" if e.status is not None else ""
                raise ContractUnavailable(f"the WSDL could not be fetched{status}") from e
            except NotAWsdl as e:
                raise ContractUnavailable("the document is not a WSDL") from e
            except WsdlUnavailable as e:
                raise ContractUnavailable("the WSDL could not be fetched") from e
            except InvalidEntry as e:
                self._cache.forget(url)
                raise ContractUnavailable(f"the WSDL cannot be used: {e.detail}") from e
            fetched = Fetched(
                url,
                tuple(_fetched_entry(url, e) for e in entries),
                {(p.service, p.name): p.address for p in wsdl.ports},
            )
            self._make_room()
            self._fetched[url] = fetched
            return fetched

    def entries(self, url: str, operation: str) -> list[ServiceEntry]:
        """The entries `wsdl:URL#operation` means in a fetched WSDL; LookupError(reason)
        when the address one of them would call is on a host the policy does not allow."""
        fetched = self.get(url)
        if fetched is None:
            return []
        found = [_fetched_entry(url, e) for e in select_operation(fetched.entries, operation)]
        for entry in found:
            address = fetched.addresses.get((entry.target["service"], entry.target["port"]), "")
            try:
                self.policy.check(address)
            except FetchRefused as e:
                raise LookupError(
                    f"the WSDL's port {entry.target['service']}.{entry.target['port']} calls "
                    f"{host_of(address) or address!r}, a host not in [assembler] fetch_wsdl_hosts"
                ) from e
        return found

    def _make_room(self) -> None:
        while len(self._fetched) >= self.size:
            idle = next(
                (u for u, f in self._fetched.items() if not self._in_use(e.id for e in f.entries)),
                None,
            )
            if idle is None:
                raise NoCapacity(
                    f"[assembler] fetch_cache holds {self.size} fetched WSDLs, each used by a "
                    "deployed application; try again once one is purged"
                )
            del self._fetched[idle]
            self._cache.forget(idle)


def _fetched_entry(url: str, entry: ServiceEntry) -> ServiceEntry:
    """A fetched WSDL's entry, named by its contract and marked fetched (its WSDL is
    reloaded under the `wsdl:` rule, never the operator's)."""
    t = entry.target
    return dataclasses.replace(
        entry,
        id=f"wsdl:{url}#{t['service']}.{t['port']}.{t['operation']}",
        target={**t, "fetched": True},
    )


def is_imported(repository: Repository, url: str) -> bool:
    """Whether the WSDL at (canonical) `url` is already in the repository."""
    for record in repository.list_imports():
        if record.kind == "wsdl" and (same_url(record.url, url) or same_url(record.base_url, url)):
            return True
    return bool(repository.by_target(KIND, wsdl=url))
