"""The enabled entries in memory, as resolution asks for them: by name, the converters, by
kind and by a SOAP entry's WSDL. `Repository` keeps it current on its own change path
(each change updates the entries it touched, inside the write's lock) and rebuilds it
when another connection changed the file.

Readers are never locked out: what a read returns is a tuple, and a change replaces the
tuples it affects whole (one assignment each), so a reader on the event loop sees an
entry list from before a change or from after it, never half of one.
"""

from __future__ import annotations

from collections.abc import Iterable

from repository.entry import ServiceEntry

__all__ = ["EntryIndex"]

NONE: tuple[ServiceEntry, ...] = ()


class EntryIndex:
    def __init__(self, entries: Iterable[ServiceEntry] = ()) -> None:
        self._by_id: dict[str, ServiceEntry] = {}
        self._by_name: dict[str, tuple[ServiceEntry, ...]] = {}
        self._by_kind: dict[str, tuple[ServiceEntry, ...]] = {}
        self._by_wsdl: dict[str, tuple[ServiceEntry, ...]] = {}
        self._converters: tuple[ServiceEntry, ...] = ()
        self.generation = 0  # one more at each change
        by_name: dict[str, list[ServiceEntry]] = {}
        by_kind: dict[str, list[ServiceEntry]] = {}
        by_wsdl: dict[str, list[ServiceEntry]] = {}
        for entry in sorted((e for e in entries if e.enabled), key=lambda e: e.id):
            self._by_id[entry.id] = entry
            by_name.setdefault(entry.name, []).append(entry)
            by_kind.setdefault(entry.kind, []).append(entry)
            wsdl = _wsdl(entry)
            if wsdl is not None:
                by_wsdl.setdefault(wsdl, []).append(entry)
        self._by_name = {k: tuple(v) for k, v in by_name.items()}
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}
        self._by_wsdl = {k: tuple(v) for k, v in by_wsdl.items()}
        self._converters = tuple(e for e in self._by_id.values() if e.converter)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, id: str) -> ServiceEntry | None:
        """The enabled entry of that id, if any."""
        return self._by_id.get(id)

    def by_name(self, name: str) -> tuple[ServiceEntry, ...]:
        return self._by_name.get(name, NONE)

    def names(self) -> Iterable[str]:
        """The names of the enabled entries (a view: read it at once)."""
        return self._by_name.keys()

    def entries(self) -> Iterable[ServiceEntry]:
        """The enabled entries (a view: read it at once)."""
        return self._by_id.values()

    def converters(self) -> tuple[ServiceEntry, ...]:
        return self._converters

    def of_kind(self, kind: str) -> tuple[ServiceEntry, ...]:
        return self._by_kind.get(kind, NONE)

    def by_wsdl(self, url: str) -> tuple[ServiceEntry, ...]:
        """The enabled entries whose `target.wsdl` is `url`, exactly."""
        return self._by_wsdl.get(url, NONE)

    def put(self, id: str, entry: ServiceEntry | None) -> None:
        """Entry `id` is now `entry` (None: deleted); a disabled one leaves the index."""
        self.generation += 1
        old = self._by_id.pop(id, None)
        new = entry if entry is not None and entry.enabled else None
        if new is not None:
            self._by_id[id] = new
        if old is not None:
            self._drop(self._by_name, old.name, id)
            self._drop(self._by_kind, old.kind, id)
            wsdl = _wsdl(old)
            if wsdl is not None:
                self._drop(self._by_wsdl, wsdl, id)
        if new is not None:
            self._add(self._by_name, new.name, new)
            self._add(self._by_kind, new.kind, new, ordered=False)
            wsdl = _wsdl(new)
            if wsdl is not None:
                self._add(self._by_wsdl, wsdl, new)
        if (old is not None and old.converter) or (new is not None and new.converter):
            kept = [e for e in self._converters if e.id != id]
            if new is not None and new.converter:
                kept.append(new)
            self._converters = tuple(sorted(kept, key=lambda e: e.id))

    @staticmethod
    def _drop(index: dict[str, tuple[ServiceEntry, ...]], key: str, id: str) -> None:
        kept = tuple(e for e in index.get(key, NONE) if e.id != id)
        if kept:
            index[key] = kept
        else:
            index.pop(key, None)

    @staticmethod
    def _add(
        index: dict[str, tuple[ServiceEntry, ...]],
        key: str,
        entry: ServiceEntry,
        *,
        ordered: bool = True,
    ) -> None:
        """`entry` added to `key`'s tuple: sorted by id (a name's few versions), or at the
        end (a kind's entries, of which there may be a hundred thousand)."""
        grown = (*index.get(key, NONE), entry)
        index[key] = tuple(sorted(grown, key=lambda e: e.id)) if ordered else grown


def _wsdl(entry: ServiceEntry) -> str | None:
    wsdl = entry.target.get("wsdl")
    return wsdl if isinstance(wsdl, str) else None
