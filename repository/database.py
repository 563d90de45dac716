"""The two databases the repository and the audit can live in, behind one small surface:
SQLite (a file, one process's lock, other processes seen by `PRAGMA data_version`) or
PostgreSQL (a server shared by several nodes, other nodes heard through NOTIFY:
`repository.changefeed`).

Statements are written once, with `?` placeholders, and each database's `Session` runs
them; a value is never part of a statement's text. Each driver's errors become ours at
one boundary (`Postgres._mapped`):

    RepositoryError          the database cannot be used (a newer schema, not a database)
    ├── RepositoryUnavailable  PostgreSQL cannot be reached now; the next call reconnects
    └── IntegrityError         a statement broke a constraint (an id that exists)

A dsn's password is never part of a message: `masked(dsn)` names the database.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

__all__ = [
    "IntegrityError",
    "Postgres",
    "RepositoryError",
    "RepositoryUnavailable",
    "SQLite",
    "Session",
    "is_postgres",
    "masked",
    "open_database",
    "reason",
]

SCHEMES = ("postgresql://", "postgres://")
MAX_ORIGIN = 200  # bytes enough for "node-a/3f2c" and a NOTIFY payload far under 8000
# One writer at a time across every process on the database, as SQLite's BEGIN IMMEDIATE
# gives a file: a migration and the read-then-write of an import or a seed never interleave.
WRITE_LOCK = 0x16A7_0013
# Short enough that a call never hangs long on a server that is gone; keepalives find a
# silent network's loss of a connection kept open (the change feed's) in about 10 s.
CONNECT = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "application_name": "integration-gateway",
}


class RepositoryError(RuntimeError):
    """The repository cannot be used (written by a newer release, not a database)."""


class RepositoryUnavailable(RepositoryError):
    """PostgreSQL cannot be reached (down, refused, the connection lost); try again later."""


class IntegrityError(RepositoryError):
    """A statement broke a constraint: an id that exists, a reference to nothing."""


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(SCHEMES)


def masked(dsn: str) -> str:
    """`dsn` with its password, if any, as `***` (in the URL's user part or its query)."""
    parts = urlsplit(dsn)
    user, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in user:
        user = user.partition(":")[0] + ":***"
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
    netloc = f"{user}@{hosts}" if at else hosts
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))


def reason(error: Exception, dsn: str) -> str:
    """A driver's error in a line, the dsn's password masked should it appear."""
    lines = str(error).strip().splitlines()
    secret = _password(dsn)
    line = lines[0] if lines else type(error).__name__
    return line.replace(secret, "***") if secret else line


def _password(dsn: str) -> str:
    parts = urlsplit(dsn)
    user = parts.netloc.rpartition("@")[0]
    secret = unquote(user.partition(":")[2])
    return secret or dict(parse_qsl(parts.query)).get("password", "")


@functools.lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Session:
    """One transaction's statements, `?`-style whichever the database (what
    `Repository.transaction` gives `repository.clients`)."""

    def __init__(
        self, connection: Any, translate: Callable[[str], str], errors: Callable[[], Any]
    ) -> None:
        self._connection = connection
        self._translate = translate
        self._errors = errors

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; answer its cursor (`fetchone`, `fetchall`, `rowcount`)."""
        with self._errors():
            return self._connection.execute(self._translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._errors():
            self._connection.cursor().executemany(self._translate(sql), rows)


class SQLite:
    """A file; calls serialized by one lock, so that threads may share it."""

    shared = False

    def __init__(self, path: str | Path, *, synchronous: str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._watching = False  # the triggers exist once the schema does
        try:
            self._db = sqlite3.connect(
                str(path), timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed change is on disk before the call returns, even in WAL mode.
            self._db.execute(f"PRAGMA synchronous = {synchronous}")
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            raise RepositoryError(f"{path}: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def rows(self, sql: str, *params: Any) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write; IMMEDIATE so that another process waits rather than fails."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Session(self._db, str, _sqlite_errors)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def data_version(self) -> int:
        """Changes whenever another connection committed to the file (PRAGMA data_version)."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]

    def schema_version(self, session: Session) -> int:
        return session.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, session: Session, version: int) -> None:
        session.execute(f"PRAGMA user_version = {int(version)}")

    def watch(self) -> None:
        """Temporary triggers, this connection's own, that note the id of every entry its
        statements insert, update or delete (a cascade from an import included)."""
        with self._lock:
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
                "CREATE TEMP TRIGGER IF NOT EXISTS touched_update_new AFTER UPDATE ON"
                " main.entries WHEN NEW.id != OLD.id BEGIN"
                " INSERT OR IGNORE INTO touched (id) VALUES (NEW.id); END"
            )
            self._watching = True

    def touched(self, session: Session) -> set[str]:
        """The entries this transaction touched so far (forgotten: noted once)."""
        if not self._watching:
            return set()
        ids = {row[0] for row in session.execute("SELECT id FROM temp.touched")}
        if ids:
            session.execute("DELETE FROM temp.touched")
        return ids


@contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as e:
        raise IntegrityError(str(e)) from e


class Postgres:
    """A PostgreSQL database: one connection, opened again after it was lost.

    Every write takes the database's write lock and names this node (`origin`) for the
    triggers' notifications (schema.py's `igw_changed`)."""

    shared = True

    def __init__(self, dsn: str, *, origin: str = "", one_writer: bool = True) -> None:
        """`one_writer`: each write takes the write lock and names `origin` (the audit's
        do neither); ValueError for an origin over MAX_ORIGIN bytes."""
        if len(origin.encode()) > MAX_ORIGIN:
            raise ValueError(f"an origin is at most {MAX_ORIGIN} bytes")
        self.name = masked(dsn)
        self._dsn = dsn
        self._origin = origin
        self._one_writer = one_writer
        self._lock = threading.RLock()
        self._watching = False
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            self._connection()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def rows(self, sql: str, *params: Any) -> list[Any]:
        with self._lock:
            return self._first(lambda conn: conn.execute(_pyformat(sql), params).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock:
            self._first(lambda conn: conn.execute("BEGIN"))
            conn = self._connection()  # the one BEGIN ran on
            try:
                session = Session(conn, _pyformat, self._mapped)
                if self._one_writer:
                    session.execute(
                        "SELECT set_config('igw.origin', ?, true), pg_advisory_xact_lock(?)",
                        (self._origin, WRITE_LOCK),
                    )
                yield session
                with self._mapped():
                    conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def schema_version(self, session: Session) -> int:
        session.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = session.execute("SELECT max(version) AS version FROM schema_version").fetchone()
        return row["version"] or 0

    def set_schema_version(self, session: Session, version: int) -> None:
        session.execute("DELETE FROM schema_version")
        session.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def watch(self) -> None:
        """A temporary table, this session's own, where the entries' trigger notes the id of
        every entry this session's statements touch (made again on each reconnect)."""
        with self._lock:
            self._watching = True
            if self._conn is not None:
                with self._mapped():
                    self._conn.execute(_TOUCHED)

    def touched(self, session: Session) -> set[str]:
        if not self._watching:
            return set()
        return {row["id"] for row in session.execute("DELETE FROM pg_temp.touched RETURNING id")}

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not (self._conn.closed or self._conn.broken):
            return self._conn
        self._drop()
        with self._mapped():
            conn = psycopg.connect(self._dsn, autocommit=True, row_factory=dict_row, **CONNECT)
            if self._watching:
                conn.execute(_TOUCHED)
        self._conn = conn
        return conn

    def _first(self, call: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """`call` on the connection; once more on a new one when a kept connection proves
        lost at its first statement (the server restarted since), which did nothing."""
        kept = self._conn is not None and not (self._conn.closed or self._conn.broken)
        conn = self._connection()
        try:
            return call(conn)
        except psycopg.OperationalError as e:
            self._drop()
            if not kept:
                raise self._unavailable(e) from None
        with self._mapped():
            return call(self._connection())

    def _rollback(self) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            self._drop()
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.OperationalError:
            self._drop()  # lost with the transaction: nothing to roll back

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        """psycopg's errors as ours; a lost connection is let go (the next call reconnects)."""
        try:
            yield
        except psycopg.OperationalError as e:
            self._drop()
            raise self._unavailable(e) from None
        except psycopg.IntegrityError as e:
            raise IntegrityError(reason(e, self._dsn)) from None

    def _unavailable(self, error: psycopg.Error) -> RepositoryUnavailable:
        why = reason(error, self._dsn)
        return RepositoryUnavailable(f"{self.name}: PostgreSQL is unavailable ({why})")


_TOUCHED = "CREATE TEMP TABLE IF NOT EXISTS touched (id text PRIMARY KEY)"


def open_database(
    target: str | Path, *, origin: str = "", synchronous: str = "FULL", one_writer: bool = True
) -> SQLite | Postgres:
    """PostgreSQL for a `postgresql://` or `postgres://` dsn, else the SQLite file."""
    if is_postgres(target):
        assert isinstance(target, str)
        return Postgres(target, origin=origin, one_writer=one_writer)
    return SQLite(target, synchronous=synchronous)
