"""Importing the WSDL a `wsdl:URL#Op` descriptor names, before resolution (SPEC §2).

Resolution is a plain function over the repository; `ensure_imported` is the async step
the assembler runs first for each by-contract stage, so that resolution finds the
WSDL's operations there (`repository.contract.find_by_contract`). A WSDL that is already
imported (by an import whose URL or base URL is this one, or by enabled soap entries
naming it) is left as it is. Otherwise it is fetched only when the URL is http or https
and its host (without the port) is in `[assembler] fetch_wsdl_hosts`, with every
redirect and nested import held to the same rule, and imported with the default prefix
and version `1.0.0`. A name another service already has gets `_2`, `_3`...

The parse goes into the gateway's `WsdlCache` (pass `DeployEnv.shared` as `shared`), so
the stages deployed next use it without a second parse. Imports of one URL are
serialized; a WSDL not yet imported is always fetched afresh, and a failure is not
remembered (neither the error nor the parse).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from gateway.header import canonical_url
from gateway.problems import Conflict, InvalidEntry
from repository.contract import same_url
from repository.fetch import FetchPolicy, WsdlUnavailable
from repository.store import ImportRecord
from repository.wsdl import entries_from
from repository.wsdlcache import Wsdl, document_text, wsdl_cache

if TYPE_CHECKING:
    from gateway.config import Config
    from repository.store import Repository

__all__ = ["ContractUnavailable", "ensure_imported"]

VERSION = "1.0.0"
_own_shared: dict[str, Any] = {}  # when the caller has no DeployEnv.shared to give


class ContractUnavailable(LookupError):
    """The WSDL cannot be had: 404 /service-not-found with this `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def ensure_imported(
    url: str, config: Config, repo: Repository, *, shared: dict[str, Any] | None = None
) -> None:
    """Import the WSDL at `url` unless it is known; raise ContractUnavailable(reason)."""
    canonical = canonical_url(url)
    cache = wsdl_cache(shared if shared is not None else _own_shared)
    async with cache.lock(canonical):
        if await asyncio.to_thread(is_imported, repo, canonical):
            return
        policy = FetchPolicy.for_contracts(config)
        # Not imported: whatever the cache may hold (a deleted import's parse or text, a
        # parse that failed to import) is not used; this fetch is held to this rule.
        cache.forget(canonical, document=True)
        try:
            policy.check(canonical)
            wsdl = await cache.load(canonical, policy)
        except WsdlUnavailable as e:
            raise ContractUnavailable(e.reason) from e
        try:
            await asyncio.to_thread(_import, repo, canonical, wsdl)
        except (InvalidEntry, Conflict) as e:
            cache.forget(canonical)
            raise ContractUnavailable(f"the WSDL cannot be imported: {e.detail}") from e


def is_imported(repo: Repository, url: str) -> bool:
    """Whether the WSDL at (canonical) `url` is already in the repository."""
    for record in repo.list_imports():
        if record.kind == "wsdl" and (same_url(record.url, url) or same_url(record.base_url, url)):
            return True
    return bool(repo.by_target("soap", wsdl=url))


def _import(repo: Repository, url: str, wsdl: Wsdl) -> None:
    reserved = {entry.name for entry in repo.list()}
    entries = entries_from(wsdl, version=VERSION, reserved=reserved)
    record = ImportRecord(
        kind="wsdl",
        document=document_text(wsdl.source),
        url=url,
        version=VERSION,
    )
    repo.apply_import(record, entries)
