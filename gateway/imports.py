"""Imports (SPEC §5): a WSDL or OpenAPI source made entries, stored with what it was made
with, re-read on request or on its `refresh_s`; every application using its entries
undeployed before the change is answered. Shared by the admin API and the schedule.

A refresh re-reads the source as the import was made (the URL, or the stored document
with its `base_url` and `documents`); a source that cannot be read leaves the import as
it was and says why (the log, for a scheduled one). Each import with `refresh_s` has a
task of its own, started with the gateway, replaced when the import is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from igwcore.problems import InvalidEntry, Problem
from igwcore.urls import same_url
from repository.import_record import ImportRecord
from repository.openapi import OpenApiImport, import_openapi
from repository.store import Changes
from repository.wsdl import WsdlImport, import_wsdl
from repository.wsdlcache import wsdl_cache

__all__ = ["Refresher", "checked_request", "make_import", "refresh"]

log = logging.getLogger("integration_gateway.imports")

MIN_REFRESH_S = 1  # a period shorter than this would be a fetch loop
STRINGS = {"url", "document", "base_url", "prefix", "version", "connection", "server_url"}
FIELDS = {"kind", "documents", "refresh_s", *STRINGS}


def checked_request(data: Any) -> dict[str, Any]:
    errors = []
    if not isinstance(data, dict):
        raise InvalidEntry(
            "an import is a JSON object", errors=[{"field": "", "reason": "not an object"}]
        )
    for key in sorted(set(data) - FIELDS):
        errors.append({"field": key, "reason": f"unknown; known: {', '.join(sorted(FIELDS))}"})
    if data.get("kind") not in ("wsdl", "openapi"):
        errors.append({"field": "kind", "reason": "must be 'wsdl' or 'openapi'"})
    for key in STRINGS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            errors.append({"field": key, "reason": "must be a string"})
    documents = data.get("documents", {})
    if not isinstance(documents, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in documents.items()
    ):
        errors.append({"field": "documents", "reason": "an object of relative paths to texts"})
    elif any(_not_relative(k) for k in documents):
        path = next(k for k in documents if _not_relative(k))
        errors.append({"field": f"documents/{path}", "reason": "a relative path, not a URL"})
    refresh = data.get("refresh_s", 0)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or refresh < 0:
        errors.append({"field": "refresh_s", "reason": "seconds, 0 or more (0: never)"})
    elif 0 < refresh < MIN_REFRESH_S:
        errors.append({"field": "refresh_s", "reason": f"at least {MIN_REFRESH_S} s (or 0)"})
    if ("url" in data) == ("document" in data):
        errors.append({"field": "url", "reason": "give either url or document"})
    if not errors and data["kind"] == "wsdl":
        for key in ("documents", "server_url", "refresh_s"):
            if data.get(key):
                errors.append({"field": key, "reason": "an OpenAPI import's option"})
    if errors:
        raise InvalidEntry(
            f"invalid import: {errors[0]['field']}: {errors[0]['reason']}", errors=errors
        )
    return data


def _not_relative(path: str) -> bool:
    return not path or bool(urlsplit(path).scheme) or path.startswith(("/", "\\"))


async def _read(gw: Any, data: dict[str, Any], previous: str | None) -> WsdlImport | OpenApiImport:
    if data["kind"] == "openapi":
        return await import_openapi(
            url=data.get("url"),
            document=data.get("document"),
            base_url=data.get("base_url"),
            documents=data.get("documents") or {},
            server_url=data.get("server_url"),
            prefix=data.get("prefix"),
            version=data.get("version") or None,
            connection=data.get("connection"),
            refresh_s=data.get("refresh_s") or 0,
            policy=gw.env.fetch,
            check_target=gw.check_target,
            reserved=_taken_names(gw, data.get("version"), previous, by_version=False),
        )
    version = data.get("version") or "1.0.0"
    return await import_wsdl(
        url=data.get("url"),
        document=data.get("document"),
        base_url=data.get("base_url"),
        prefix=data.get("prefix"),
        version=version,
        connection=data.get("connection"),
        policy=gw.env.fetch,
        check_target=gw.check_target,
        cache=wsdl_cache(gw.env.shared),
        reserved=_taken_names(gw, version, previous),
    )


def _taken_names(
    gw: Any, version: str | None, previous: str | None, *, by_version: bool = True
) -> set[str]:
    """The names whose id at `version` another service has (SPEC §5: names that collide
    get `_2`, `_3`...; as for a `wsdl:URL#Op` import). The entries of the import being
    repeated (`previous`) keep their names; other versions of a name do not collide."""
    repo = gw.repository
    own = {e.id for e in repo.import_entries(previous)} if previous is not None else set()
    if not by_version:  # OpenAPI: the version may come from the document; any clashes
        return {e.name for e in repo.list() if e.id not in own}
    return {e.name for e in repo.list() if e.version == version and e.id not in own}


async def make_import(gw: Any, data: dict[str, Any]) -> tuple[ImportRecord, Any]:
    """Import a checked request; the record and the result (entries, warnings)."""
    previous = _same_source(gw, data["kind"], data.get("url"), data.get("base_url"))
    result = await _read(gw, data, previous)
    record = result.record(id=previous)
    changes = gw.repository.apply_import(record, result.entries)
    await _undeploy(gw, result, changes)
    log.info("imported %d entries from %s", len(result.entries), record.url or record.base_url)
    gw.refresher.schedule(record)
    return record, result


async def refresh(gw: Any, record: ImportRecord) -> Changes:
    """Re-read an import's source; what it added, changed and removed."""
    data: dict[str, Any] = {
        "kind": record.kind,
        "prefix": record.prefix,
        "version": record.version,
        **record.options,
    }
    if record.url is not None:
        data["url"] = record.url
    else:
        data.update(document=record.document, base_url=record.base_url)
    result = await _read(gw, data, record.id)
    changes = gw.repository.apply_import(result.record(id=record.id), result.entries)
    await _undeploy(gw, result, changes)
    return changes


def _same_source(gw: Any, kind: str, url: str | None, base_url: str | None) -> str | None:
    """The import this one repeats: the same source, whether by URL or as a document with
    that `base_url` (SPEC §5: one import, not two). Importing it again updates that
    import's entries rather than clashing with them."""
    where = url if url is not None else base_url
    if not where:
        return None
    for record in gw.repository.list_imports():
        if record.kind != kind:
            continue
        known = record.url if record.url is not None else record.base_url
        if known and same_url(known, where):
            return record.id
    return None


async def _undeploy(gw: Any, result: WsdlImport | OpenApiImport, changes: Any) -> None:
    """Every application using an entry of the import goes, changed or not: the WSDL
    behind an unchanged entry (its schema, its address) may have changed; and every one
    whose header would now resolve to an entry it added."""
    await gw.services_changed([*(e.id for e in result.entries), *changes["removed"]])
    added = set(changes["added"])
    await gw.registered([e for e in result.entries if e.id in added])


class Refresher:
    """A task a refreshed import: re-read every `refresh_s` seconds."""

    def __init__(self, gw: Any) -> None:
        self._gw = gw
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False

    def start(self) -> None:
        self._running = True
        for record in self._gw.repository.list_imports():
            self.schedule(record)

    def schedule(self, record: ImportRecord) -> None:
        old = self._tasks.pop(record.id, None)
        if old is not None:
            old.cancel()
        period = float(record.options.get("refresh_s") or 0)
        if self._running and period > 0:
            task = asyncio.get_running_loop().create_task(self._every(record.id, period))
            self._tasks[record.id] = task

    async def _every(self, id: str, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                record = self._gw.repository.get_import(id)
                changes = await refresh(self._gw, record)
            except Problem as e:
                if e.status == 404:
                    return  # the import is gone
                log.warning("refreshing import %s failed: %s", id, e.detail)
                continue
            except Exception:
                log.exception("refreshing import %s failed", id)
                continue
            if any(changes.values()):
                log.info(
                    "import %s refreshed: %d added, %d changed, %d removed",
                    id,
                    len(changes["added"]),
                    len(changes["changed"]),
                    len(changes["removed"]),
                )

    async def stop(self) -> None:
        self._running = False
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
