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

`ensure_imported` is the async step the assembler runs first for each by-contract stage.
A WSDL that is already imported (by an import whose URL or base URL is this one, or by
enabled soap entries naming it) is left as it is. Otherwise it is fetched only under the
policy it is given (http or https, a host of `[assembler] fetch_wsdl_hosts`, every
redirect and nested import held to the same rule) and imported with the default prefix
and version `1.0.0`; a name another service already has gets `_2`, `_3`... The parse
goes into the gateway's `WsdlCache`, so the stages deployed next use it without a second
parse. Imports of one URL are serialized; a WSDL not yet imported is always fetched
afresh, and a failure is not remembered (neither the error nor the parse).
"""

from __future__ import annotations

import asyncio
import dataclasses

from igwcore.problems import Conflict, InvalidEntry
from igwcore.urls import canonical_url, same_url
from repository.entry import ServiceEntry, TargetCheck
from repository.fetch import FetchPolicy, WsdlUnavailable
from repository.import_record import ImportRecord
from repository.store import Repository
from repository.wsdl import entries_from
from repository.wsdlcache import Wsdl, WsdlCache, document_text

__all__ = ["ContractUnavailable", "ensure_imported", "find_by_contract", "is_imported"]

KIND = "soap"
VERSION = "1.0.0"


def find_by_contract(repository: Repository, url: str, operation: str) -> list[ServiceEntry]:
    """The enabled SOAP entries `wsdl:URL#operation` may mean (none, one, or several)."""
    entries = entries_of(repository, url)
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


# -- importing a WSDL not yet known ---------------------------------------------------


class ContractUnavailable(LookupError):
    """The WSDL cannot be had: 404 /service-not-found with this `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def ensure_imported(
    url: str,
    repository: Repository,
    *,
    policy: FetchPolicy,
    cache: WsdlCache,
    check_target: TargetCheck,
) -> None:
    """Import the WSDL at `url` unless it is known; raise ContractUnavailable(reason).
    `policy` is the rule for fetching (`fetch_wsdl_hosts`)."""
    canonical = canonical_url(url)
    async with cache.lock(canonical):
        if await asyncio.to_thread(is_imported, repository, canonical):
            return
        # Not imported: whatever the cache may hold (a deleted import's parse or text, a
        # parse that failed to import) is not used; this fetch is held to this rule.
        cache.forget(canonical, document=True)
        try:
            policy.check(canonical)
            wsdl = await cache.load(canonical, policy)
        except WsdlUnavailable as e:
            raise ContractUnavailable(e.reason) from e
        try:
            await asyncio.to_thread(_import, repository, canonical, wsdl, check_target)
        except (InvalidEntry, Conflict) as e:
            cache.forget(canonical)
            raise ContractUnavailable(f"the WSDL cannot be imported: {e.detail}") from e


def is_imported(repository: Repository, url: str) -> bool:
    """Whether the WSDL at (canonical) `url` is already in the repository."""
    for record in repository.list_imports():
        if record.kind == "wsdl" and (same_url(record.url, url) or same_url(record.base_url, url)):
            return True
    return bool(repository.by_target(KIND, wsdl=url))


def _import(repository: Repository, url: str, wsdl: Wsdl, check_target: TargetCheck) -> None:
    reserved = {entry.name for entry in repository.list()}
    entries = entries_from(wsdl, version=VERSION, reserved=reserved, check_target=check_target)
    record = ImportRecord(
        kind="wsdl",
        document=document_text(wsdl.source),
        url=url,
        version=VERSION,
    )
    repository.apply_import(record, entries)
