"""The service repository (SPEC §3, §5): entries, imports, seeded built-ins and the
operator's settings (the purge policy of `PUT /purge/policy`) in SQLite.

One file in WAL mode with `synchronous=FULL`: a change is one transaction, and once a
method returns, the change survives a crash or a power cut. Several processes (workers)
may open the same file; within one, a lock serializes calls, so the repository can be
used from `asyncio.to_thread`.

Resolution reads the enabled entries from memory (`repository.index.EntryIndex`), not
from the file: each change updates the index for the entries it touched before its lock
is let go, and a read first asks SQLite whether another connection changed the file
(`PRAGMA data_version`), rebuilding the index if so.

Each entry remembers its origin: `api` (the admin API), `builtin` (seeded), `file` (a
service file) or `import` (with the import's id). Re-reading service files and
re-importing replace the entries of that origin wholesale, `enabled` included: a disable
through the API lasts until the file or the import says otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any, TypedDict

from igwcore import mediatype
from igwcore.problems import Conflict, InvalidEntry, NotFound
from repository.entry import ServiceEntry, TargetCheck
from repository.import_record import ImportRecord, import_record
from repository.index import EntryIndex
from repository.schema import MIGRATIONS, SCHEMA_VERSION
from repository.servicefiles import read_service_dirs

__all__ = ["Changes", "Repository", "RepositoryError"]


class RepositoryError(RuntimeError):
    """The repository file cannot be used (written by a newer release, not SQLite)."""


class Changes(TypedDict):
    """Ids of the entries a bulk change touched (the caller undeploys their applications)."""

    added: list[str]
    changed: list[str]
    removed: list[str]


class Repository:
    """The service entries; every method is one transaction under one lock."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                str(path), timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._watching = False  # the triggers exist once the schema does
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed change is on disk before the call returns, even in WAL mode.
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._watch_changes()
            self._index = EntryIndex()
            self._data_version = -1  # never read: the first read builds the index
        except sqlite3.DatabaseError as e:
            raise RepositoryError(f"{path}: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- reading --------------------------------------------------------------------------

    def list(
        self, name: str | None = None, input: str | None = None, output: str | None = None
    ) -> list[ServiceEntry]:
        """Entries by name; `input`: those that accept it; `output`: those whose declared
        output it covers (`type/*` and `*/*` work; `same` finds the pass-through ones)."""
        if name is None:
            entries = self._select("SELECT * FROM entries ORDER BY name, id")
        else:
            entries = self._select("SELECT * FROM entries WHERE name = ? ORDER BY id", name)
        if input:
            entries = [e for e in entries if mediatype.accepts(e.input, input)]
        if output:
            entries = [e for e in entries if mediatype.matches(output, e.output)]
        return entries

    def own(self) -> list[ServiceEntry]:
        """The entries that no import made (the admin API's, service files', built-ins'),
        as stored, by name and id: what an export writes as service files."""
        return self._select("SELECT * FROM entries WHERE origin != 'import' ORDER BY name, id")

    def get(self, id: str) -> ServiceEntry:
        entries = self._select("SELECT * FROM entries WHERE id = ?", id)
        if not entries:
            raise NotFound(f"no service with id {id!r}")
        return entries[0]

    def by_name(self, name: str) -> list[ServiceEntry]:
        """The enabled entries of that name (resolution by name), by id."""
        return list(self.index().by_name(name))

    def converters(self) -> list[ServiceEntry]:
        """The enabled converters (resolution by IO type), by id."""
        return list(self.index().converters())

    def by_target(self, kind: str, **fields: Any) -> list[ServiceEntry]:
        """The enabled entries of `kind` whose target has these values (a WSDL's URL)."""
        index = self.index()
        wsdl = fields.get("wsdl")
        candidates = index.by_wsdl(wsdl) if isinstance(wsdl, str) else index.of_kind(kind)
        found = [
            e
            for e in candidates
            if e.kind == kind and all(e.target.get(k) == v for k, v in fields.items())
        ]
        return sorted(found, key=lambda e: e.id)

    def index(self) -> EntryIndex:
        """The enabled entries in memory, current (rebuilt first if another connection
        changed the file since)."""
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                rows = self._db.execute("SELECT * FROM entries WHERE enabled = 1").fetchall()
                self._index = EntryIndex(_entry(row) for row in rows)
                self._data_version = version
            return self._index

    # --- changing one entry ---------------------------------------------------------------

    def add(self, entry: ServiceEntry) -> ServiceEntry:
        """Register an entry (the admin API); Conflict if its id exists."""
        with self._write() as db:
            try:
                _insert(db, entry, "api")
            except sqlite3.IntegrityError as e:
                raise Conflict(f"a service with id {entry.id!r} exists") from e
        return entry

    def replace(self, id: str, entry: ServiceEntry) -> ServiceEntry:
        """Replace entry `id` (which wins over the entry's own id); NotFound if absent."""
        entry = dataclasses.replace(entry, id=id)
        with self._write() as db:
            cursor = db.execute(
                "UPDATE entries SET name = ?, kind = ?, enabled = ?, converter = ?, data = ?"
                " WHERE id = ?",
                (entry.name, entry.kind, entry.enabled, entry.converter, _data(entry), id),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no service with id {id!r}")
        return entry

    def delete(self, id: str) -> ServiceEntry:
        """Remove entry `id` and answer what it was; NotFound if absent."""
        with self._write() as db:
            entry = _one(db, id)
            db.execute("DELETE FROM entries WHERE id = ?", (id,))
        return entry

    def set_enabled(self, id: str, enabled: bool) -> ServiceEntry:
        """Take an entry out of resolution or put it back; answer it as it now is."""
        with self._write() as db:
            entry = _one(db, id)
            db.execute("UPDATE entries SET enabled = ? WHERE id = ?", (enabled, id))
        return dataclasses.replace(entry, enabled=enabled)

    # --- built-ins, service files, imports ------------------------------------------------

    def seed(self, entries: Iterable[ServiceEntry]) -> list[str]:
        """Add the built-ins never seeded before; answer their ids. One the operator
        deleted stays deleted; one that a later release brings is added."""
        added: list[str] = []
        with self._write() as db:
            seeded = {row["id"] for row in db.execute("SELECT id FROM seeded")}
            for entry in entries:
                if entry.id in seeded:
                    continue
                db.execute("INSERT INTO seeded (id) VALUES (?)", (entry.id,))
                exists = db.execute("SELECT 1 FROM entries WHERE id = ?", (entry.id,)).fetchone()
                if exists is None:  # an operator's own entry of that id is left alone
                    _insert(db, entry, "builtin")
                    added.append(entry.id)
        return added

    def reload_service_dirs(self, dirs: Iterable[Path], *, check_target: TargetCheck) -> Changes:
        """Make the service-file entries those of the files in `dirs` (SPEC §5
        `/services:reload`); an invalid file raises InvalidEntry and changes nothing."""
        found = read_service_dirs(dirs, check_target)
        changes = Changes(added=[], changed=[], removed=[])
        with self._write() as db:
            before = {
                row["id"]: row for row in db.execute("SELECT * FROM entries WHERE origin = 'file'")
            }
            for item in found:
                entry, source = item.entry, str(item.file)
                row = before.get(entry.id)
                if row is None:
                    try:
                        _insert(db, entry, "file", source=source)
                    except sqlite3.IntegrityError as e:
                        reason = f"id {entry.id!r} exists and does not come from a service file"
                        raise InvalidEntry(
                            f"{source}: {reason}", errors=[{"field": source, "reason": reason}]
                        ) from e
                    changes["added"].append(entry.id)
                elif _entry(row).to_json() != entry.to_json() or row["source"] != source:
                    _update(db, entry, source=source)
                    changes["changed"].append(entry.id)
            keep = {item.entry.id for item in found}
            for id in before:
                if id not in keep:
                    db.execute("DELETE FROM entries WHERE id = ?", (id,))
                    changes["removed"].append(id)
        return changes

    def apply_import(self, record: ImportRecord, entries: Iterable[ServiceEntry]) -> Changes:
        """Store an import and make its entries exactly `entries`, all or nothing.

        Conflict if an entry's id is taken by another origin or given twice."""
        changes = Changes(added=[], changed=[], removed=[])
        with self._write() as db:
            db.execute(
                "INSERT INTO imports (id, kind, url, document, base_url, prefix, version, created,"
                " options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " kind = excluded.kind, url = excluded.url, document = excluded.document,"
                " base_url = excluded.base_url, prefix = excluded.prefix,"
                " version = excluded.version, options = excluded.options",
                (
                    record.id,
                    record.kind,
                    record.url,
                    record.document,
                    record.base_url,
                    record.prefix,
                    record.version,
                    record.created.astimezone(UTC).isoformat(),
                    json.dumps(record.options, sort_keys=True),
                ),
            )
            before = {
                row["id"]: row
                for row in db.execute("SELECT * FROM entries WHERE import_id = ?", (record.id,))
            }
            keep: set[str] = set()
            for entry in entries:
                if entry.id in keep:
                    raise Conflict(f"the import makes two services with id {entry.id!r}")
                keep.add(entry.id)
                row = before.get(entry.id)
                if row is None:
                    try:
                        _insert(db, entry, "import", import_id=record.id)
                    except sqlite3.IntegrityError as e:
                        raise Conflict(
                            f"a service with id {entry.id!r} exists outside this import"
                        ) from e
                    changes["added"].append(entry.id)
                elif _entry(row).to_json() != entry.to_json():
                    _update(db, entry)
                    changes["changed"].append(entry.id)
            for id in before:
                if id not in keep:
                    db.execute("DELETE FROM entries WHERE id = ?", (id,))
                    changes["removed"].append(id)
        return changes

    def get_import(self, id: str) -> ImportRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM imports WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise NotFound(f"no import with id {id!r}")
        return import_record(row)

    def list_imports(self) -> list[ImportRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM imports ORDER BY created, id").fetchall()
        return [import_record(row) for row in rows]

    def import_entries(self, import_id: str) -> list[ServiceEntry]:
        """The entries an import made (as they are now)."""
        return self._select("SELECT * FROM entries WHERE import_id = ? ORDER BY id", import_id)

    # --- settings -------------------------------------------------------------------------

    def get_setting(self, key: str) -> Any:
        """The JSON value stored under `key`, or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row["value"])

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under `key`, replacing what was there."""
        with self._write() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )

    # --- for the other tables of the file (clients) ---------------------------------------

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction under the repository's lock (`repository.clients`)."""
        return self._write()

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- plumbing -------------------------------------------------------------------------

    def _select(self, sql: str, *params: Any) -> list[ServiceEntry]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_entry(row) for row in rows]

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so that another process waits rather than fails.

        The entries it inserted, changed or deleted (noted by this connection's temporary
        triggers, `_watch_changes`) are put into the index as they are once committed,
        before the lock is let go."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                touched: set[str] = set()
                if self._watching:
                    found = self._db.execute("SELECT id FROM temp.touched")
                    touched = {row[0] for row in found}
                changed = bool(touched)
                if changed:
                    self._db.execute("DELETE FROM temp.touched")
                rows = self._rows(touched) if changed else {}
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            if changed:
                self._refresh(rows)

    def _rows(self, ids: set[str]) -> dict[str, sqlite3.Row | None] | None:
        """The touched entries' rows as this transaction leaves them (None: too many to
        read one by one; the index is rebuilt instead)."""
        if len(ids) > 1000:
            return None
        return {
            id: self._db.execute("SELECT * FROM entries WHERE id = ?", (id,)).fetchone()
            for id in ids
        }

    def _refresh(self, rows: dict[str, sqlite3.Row | None] | None) -> None:
        if self._data_version == -1:
            return  # never built: the first read builds it
        if rows is None:
            self._data_version = -1  # rebuilt at the next read
            return
        for id, row in rows.items():
            self._index.put(id, None if row is None else _entry(row))

    def _watch_changes(self) -> None:
        """Temporary triggers, this connection's own, that note the id of every entry its
        statements insert, update or delete (a cascade from an import included)."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS touched (id TEXT PRIMARY KEY)")
        for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            db.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS touched_{event.lower()}"
                f" AFTER {event} ON main.entries BEGIN"
                f" INSERT OR IGNORE INTO touched (id) VALUES ({row}.id); END"
            )
        # An update that changes an id touches the new one too.
        db.execute(
            "CREATE TEMP TRIGGER IF NOT EXISTS touched_update_new AFTER UPDATE ON main.entries"
            " WHEN NEW.id != OLD.id BEGIN"
            " INSERT OR IGNORE INTO touched (id) VALUES (NEW.id); END"
        )
        self._watching = True

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RepositoryError(
                    f"the repository has schema version {version}; this release knows "
                    f"up to {SCHEMA_VERSION}"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")


def _data(entry: ServiceEntry) -> str:
    # id and enabled live in their columns only, so they have one source of truth.
    data = entry.to_json()
    del data["id"], data["enabled"]
    return json.dumps(data, sort_keys=True)


def _entry(row: sqlite3.Row) -> ServiceEntry:
    data = json.loads(row["data"])
    return ServiceEntry(
        id=row["id"],
        name=data["name"],
        version=data["version"],
        description=data["description"],
        kind=data["kind"],
        params=data["params"],
        input=tuple(data["input"]),
        output=data["output"],
        converter=data["converter"],
        target=data["target"],
        enabled=bool(row["enabled"]),
    )


def _one(db: sqlite3.Connection, id: str) -> ServiceEntry:
    row = db.execute("SELECT * FROM entries WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise NotFound(f"no service with id {id!r}")
    return _entry(row)


def _insert(
    db: sqlite3.Connection,
    entry: ServiceEntry,
    origin: str,
    *,
    import_id: str | None = None,
    source: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO entries (id, name, kind, enabled, converter, origin, import_id, source, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            entry.name,
            entry.kind,
            entry.enabled,
            entry.converter,
            origin,
            import_id,
            source,
            _data(entry),
        ),
    )


def _update(db: sqlite3.Connection, entry: ServiceEntry, *, source: str | None = None) -> None:
    db.execute(
        "UPDATE entries SET name = ?, kind = ?, enabled = ?, converter = ?, data = ?,"
        " source = coalesce(?, source) WHERE id = ?",
        (entry.name, entry.kind, entry.enabled, entry.converter, _data(entry), source, entry.id),
    )
