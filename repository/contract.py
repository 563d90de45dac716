"""Resolution by contract (SPEC §2): the entries `wsdl:URL#Op` or `#Service.Port.Op` means.

A plain function over the repository; nothing is fetched here (`assembler.contract`
imports a WSDL not yet known before resolution runs). URLs compare canonically (scheme
added, scheme and host lower case, default port dropped, empty path `/`), against each
entry's `target.wsdl` and each import's `base_url`.

- `Op`: every enabled operation of that name, one entry per service offering it; more
  than one is for resolution to report as ambiguous (409).
- `Service.Port.Op`: the entry of that service and operation if it uses that port;
  else, when the port is another SOAP port offering the operation (`target.ports`), the
  entry with `target.port` changed. The derived entry keeps the imported entry's id, so
  that changing or removing that entry reaches applications using any of its ports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

from gateway.header import canonical_url
from repository.entry import ServiceEntry

__all__ = ["ContractCatalog", "find_by_contract", "same_url"]

KIND = "soap"


class ContractCatalog(Protocol):
    """What `find_by_contract` asks of the repository (`repository.store.Repository`)."""

    def by_target(self, kind: str, **fields: Any) -> Sequence[ServiceEntry]: ...

    def list_imports(self) -> Sequence[Any]: ...

    def import_entries(self, import_id: str) -> Sequence[ServiceEntry]: ...


def same_url(a: str | None, b: str | None) -> bool:
    """Whether two URLs are the same once canonical."""
    if not a or not b:
        return False
    return a == b or canonical_url(a) == canonical_url(b)


def find_by_contract(repo: ContractCatalog, url: str, operation: str) -> list[ServiceEntry]:
    """The enabled SOAP entries `wsdl:URL#operation` may mean (none, one, or several)."""
    entries = entries_of(repo, url)
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


def entries_of(repo: ContractCatalog, url: str) -> list[ServiceEntry]:
    """The enabled SOAP entries of the WSDL at `url` (or imported with that base URL)."""
    canonical = canonical_url(url)
    entries = list(repo.by_target(KIND, wsdl=canonical))
    if not entries:
        # Entries written by hand may spell the URL another way.
        entries = [e for e in repo.by_target(KIND) if same_url(e.target.get("wsdl"), canonical)]
    seen = {e.id for e in entries}
    for record in repo.list_imports():
        if getattr(record, "kind", None) != "wsdl":
            continue
        if not same_url(getattr(record, "base_url", None), canonical):
            continue
        for entry in repo.import_entries(record.id):
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
