"""The service repository (SPEC §3, §5): entries, imports, seeded built-ins and the
operator's settings (the purge policy of `PUT /purge/policy`), in SQLite or PostgreSQL
(`repository.database`).

SQLite: one file in WAL mode with `synchronous=FULL`: a change is one transaction, and
once a method returns, the change survives a crash or a power cut. Several processes
(workers) may open the same file. PostgreSQL: one database shared by several nodes, each
naming itself (`origin`) in the notes its changes send the others (`repository.changefeed`).
Within one process, a lock serializes calls, so the repository can be used from
`asyncio.to_thread`.

Resolution reads the enabled entries from memory (`repository.index.EntryIndex`), not
from the database: each change updates the index for the entries it touched before its
lock is let go. On SQLite a read first asks whether another connection changed the file
(`PRAGMA data_version`), rebuilding the index if so. On PostgreSQL a read never touches
the server (it may be down): another node's changes come in by `refresh(ids)`, told by
the change feed, and `resync()` rebuilds the index after the feed was away.

Each entry remembers its origin: `api` (the admin API), `builtin` (seeded), `file` (a
service file) or `import` (with the import's id). Re-reading service files and
re-importing replace the entries of that origin wholesale, `enabled` included: a disable
through the API lasts until the file or the import says otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any, TypedDict

from igwcore import mediatype
from igwcore.problems import Conflict, InvalidEntry, NotFound
from repository.database import (
    IntegrityError,
    RepositoryError,
    RepositoryUnavailable,
    Session,
    open_database,
)
from repository.entry import ServiceEntry, TargetCheck
from repository.import_record import ImportRecord, import_record
from repository.index import EntryIndex
from repository.schema import MIGRATIONS, POSTGRES_MIGRATIONS
from repository.servicefiles import read_service_dirs

__all__ = ["Changes", "Repository", "RepositoryError", "RepositoryUnavailable"]

# Touched entries up to this many are read again one by one; more rebuild the index.
BULK = 1000
ENABLED = "SELECT * FROM entries WHERE enabled"


class Changes(TypedDict):
    """Ids of the entries a bulk change touched (the caller undeploys their applications)."""

    added: list[str]
    changed: list[str]
    removed: list[str]


class Repository:
    """The service entries; every method is one transaction under one lock."""

    def __init__(self, target: str | Path, *, origin: str = "") -> None:
        """`target`: a `postgresql://` or `postgres://` dsn, else the SQLite file's path
        (`:memory:` too); `origin` names this node in PostgreSQL's change notes."""
        self._lock = threading.RLock()
        self._db = open_database(target, origin=origin)
        self.shared = self._db.shared
        self._index = EntryIndex()
        self._data_version = -1  # never read: the first read builds the index
        self._unsure: set[str] = set()
        try:
            self._migrate()
            self._db.watch()
            if self.shared:
                self.resync()  # from here on, reads never ask the server
        except BaseException:
            self._db.close()
            raise

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
        """The enabled entries in memory, current. SQLite: rebuilt first if another
        connection changed the file since. PostgreSQL: as this process's writes and
        `refresh` left it, without a word to the server."""
        if self.shared:
            return self._index
        with self._lock:
            version = self._db.data_version()
            if version != self._data_version:
                self._index = EntryIndex(_entry(row) for row in self._db.rows(ENABLED))
                self._data_version = version
            return self._index

    def refresh(self, ids: Iterable[str]) -> None:
        """Read these entries again into the index (another node changed them); one now
        absent or disabled leaves it."""
        wanted = sorted(set(ids))
        if len(wanted) > BULK:
            self.resync()
            return
        with self._lock:
            if not self._built():
                return  # the first read builds it
            rows: dict[str, Any] = dict.fromkeys(wanted)
            for start in range(0, len(wanted), 100):
                chunk = wanted[start : start + 100]
                marks = ", ".join("?" * len(chunk))  # placeholders, one a value
                for row in self._db.rows(f"SELECT * FROM entries WHERE id IN ({marks})", *chunk):
                    rows[row["id"]] = row
            self._apply(rows)

    def resync(self) -> None:
        """Rebuild the index from the database (after the change feed was away)."""
        with self._lock:
            if self.shared:
                self._index = EntryIndex(_entry(row) for row in self._db.rows(ENABLED))
            else:
                self._data_version = -1  # rebuilt at the next read

    # --- changing one entry ---------------------------------------------------------------

    def add(self, entry: ServiceEntry) -> ServiceEntry:
        """Register an entry (the admin API); Conflict if its id exists."""
        with self._write() as db:
            try:
                _insert(db, entry, "api")
            except IntegrityError as e:
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
                row["id"]: row
                for row in db.execute("SELECT * FROM entries WHERE origin = 'file' ORDER BY id")
            }
            for item in found:
                entry, source = item.entry, str(item.file)
                row = before.get(entry.id)
                if row is None:
                    try:
                        _insert(db, entry, "file", source=source)
                    except IntegrityError as e:
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
                for row in db.execute(
                    "SELECT * FROM entries WHERE import_id = ? ORDER BY id", (record.id,)
                )
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
                    except IntegrityError as e:
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
        rows = self._db.rows("SELECT * FROM imports WHERE id = ?", id)
        if not rows:
            raise NotFound(f"no import with id {id!r}")
        return import_record(rows[0])

    def list_imports(self) -> list[ImportRecord]:
        rows = self._db.rows("SELECT * FROM imports ORDER BY created, id")
        return [import_record(row) for row in rows]

    def import_entries(self, import_id: str) -> list[ServiceEntry]:
        """The entries an import made (as they are now)."""
        return self._select("SELECT * FROM entries WHERE import_id = ? ORDER BY id", import_id)

    # --- settings -------------------------------------------------------------------------

    def get_setting(self, key: str) -> Any:
        """The JSON value stored under `key`, or None."""
        rows = self._db.rows("SELECT value FROM settings WHERE key = ?", key)
        return json.loads(rows[0]["value"]) if rows else None

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under `key`, replacing what was there."""
        with self._write() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )

    # --- for the other tables of the database (clients) -----------------------------------

    def transaction(self) -> AbstractContextManager[Session]:
        """One write transaction under the repository's lock (`repository.clients`): its
        statements take `?` placeholders whichever the database."""
        return self._write()

    def rows(self, sql: str, *params: Any) -> list[Any]:
        """A read's rows, each by column name (`?` placeholders)."""
        return self._db.rows(sql, *params)

    # --- plumbing -------------------------------------------------------------------------

    def _select(self, sql: str, *params: Any) -> list[ServiceEntry]:
        return [_entry(row) for row in self._db.rows(sql, *params)]

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One write transaction.

        The entries it inserted, changed or deleted (noted by the database's triggers,
        `watch`) are put into the index as they are once committed, before the lock is
        let go; past BULK of them, the index is rebuilt from the transaction's view.
        (PostgreSQL does not tell a node its own changes: those of a write whose COMMIT
        went unanswered are read again by the next.)"""
        with self._lock:
            touched: set[str] = set()
            try:
                with self._db.transaction() as session:
                    yield session
                    touched = self._db.touched(session) | self._unsure
                    rows: dict[str, Any] = {}
                    rebuilt = None
                    if touched and self._built():
                        if len(touched) > BULK:
                            rebuilt = EntryIndex(_entry(row) for row in session.execute(ENABLED))
                        else:
                            rows = {id: _row(session, id) for id in touched}
            except RepositoryUnavailable:
                # Lost at COMMIT, the change may have been made: read again at the next write.
                self._unsure = touched
                raise
            self._unsure = set()
            if rebuilt is not None:
                self._index = rebuilt
            self._apply(rows)

    def _built(self) -> bool:
        return self.shared or self._data_version != -1

    def _apply(self, rows: dict[str, Any]) -> None:
        for id, row in rows.items():
            self._index.put(id, None if row is None else _entry(row))

    def _migrate(self) -> None:
        steps = POSTGRES_MIGRATIONS if self.shared else MIGRATIONS
        with self._write() as session:
            version = self._db.schema_version(session)
            if version > len(steps):
                raise RepositoryError(
                    f"the repository has schema version {version}; this release knows "
                    f"up to {len(steps)}"
                )
            for number in range(version, len(steps)):
                for statement in steps[number]:
                    session.execute(statement)
            if version < len(steps):
                self._db.set_schema_version(session, len(steps))


def _data(entry: ServiceEntry) -> str:
    # id and enabled live in their columns only, so they have one source of truth.
    data = entry.to_json()
    del data["id"], data["enabled"]
    return json.dumps(data, sort_keys=True)


def _entry(row: Any) -> ServiceEntry:
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


def _row(db: Session, id: str) -> Any:
    return db.execute("SELECT * FROM entries WHERE id = ?", (id,)).fetchone()


def _one(db: Session, id: str) -> ServiceEntry:
    row = _row(db, id)
    if row is None:
        raise NotFound(f"no service with id {id!r}")
    return _entry(row)


def _insert(
    db: Session,
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


def _update(db: Session, entry: ServiceEntry, *, source: str | None = None) -> None:
    db.execute(
        "UPDATE entries SET name = ?, kind = ?, enabled = ?, converter = ?, data = ?,"
        " source = coalesce(?, source) WHERE id = ?",
        (entry.name, entry.kind, entry.enabled, entry.converter, _data(entry), source, entry.id),
    )
