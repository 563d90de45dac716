"""Audit records (SPEC §9): one an integration request, `{"client", "key", "stages",
"received", "finished", "status"}`, in an SQLite file of their own or in a PostgreSQL
database's table `audit` (`repository.database`).

Not the repository's file: records are written several times a second, and every write
to that file makes each process rebuild its resolution index (`PRAGMA data_version`).
WAL with `synchronous=NORMAL`: a batch survives the process's crash once written; the
last batches before a power cut may not. On PostgreSQL the table may share the
repository's database: its writes take no write lock and send no notes. Writes come in
batches from a thread (`gateway.audit`), reads from the admin API; one lock serializes
them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from repository.database import open_database

__all__ = ["AuditRecord", "AuditStore", "rfc3339_ms"]

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        client TEXT,
        key TEXT,
        stages TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        finished_ms INTEGER NOT NULL,
        status INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_by_received ON audit (received_ms)",
    "CREATE INDEX IF NOT EXISTS audit_by_client ON audit (client, received_ms)",
)
# By time (order, `since`, pruning) and by client; a key is looked for along the time
# index: each index costs a record as much again to write.
POSTGRES_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        client text,
        key text,
        stages text NOT NULL,
        received_ms bigint NOT NULL,
        finished_ms bigint NOT NULL,
        status integer NOT NULL
    )""",
    *SCHEMA[1:],
)
SCHEMA_LOCK = 0x16A7_0A0D  # nodes that open the database at once take turns


class AuditRecord(NamedTuple):
    """One request, as its row is written: `client` None before credentials were
    verified, `key` None before the header was read, the stage ids as JSON, times in
    milliseconds since the epoch. Made by the request (`of`), so that the thread writing
    a batch hands rows straight to SQLite, which lets the GIL go while it works."""

    client: str | None
    key: str | None
    stages: str
    received_ms: int
    finished_ms: int
    status: int

    @classmethod
    def of(
        cls,
        client: str | None,
        key: str | None,
        stages: tuple[str, ...],
        received: float,
        finished: float,
        status: int,
    ) -> AuditRecord:
        """Times in seconds since the epoch."""
        return cls(
            client, key, _stages_json(stages), int(received * 1000), int(finished * 1000), status
        )


@functools.lru_cache(maxsize=4096)
def _stages_json(stages: tuple[str, ...]) -> str:
    # An application's records share its tuple of stage ids: encoded once.
    return json.dumps(list(stages))


def rfc3339_ms(seconds: float) -> str:
    """`2026-12-02T10:00:00.123Z`."""
    when = datetime.fromtimestamp(seconds, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditStore:
    def __init__(self, target: str | Path) -> None:
        """`target`: the SQLite file's path, or a `postgresql://` dsn."""
        self._db = open_database(target, synchronous="NORMAL", one_writer=False)
        with self._db.transaction() as session:
            if self._db.shared:  # CREATE ... IF NOT EXISTS is no guard against a race
                session.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            for statement in POSTGRES_SCHEMA if self._db.shared else SCHEMA:
                session.execute(statement)

    def write(self, records: Iterable[AuditRecord]) -> int:
        """Store `records` in one transaction; answer how many."""
        rows = records if isinstance(records, list) else list(records)
        with self._db.transaction() as session:
            session.executemany(
                "INSERT INTO audit (client, key, stages, received_ms, finished_ms, status)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def query(
        self,
        *,
        client: str | None = None,
        key: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Records as the admin API shows them, newest first."""
        where, params = [], []
        for column, value in (("client", client), ("key", key)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("received_ms >= ?")
            params.append(round(since * 1000))
        sql = "SELECT * FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY received_ms DESC, seq DESC LIMIT ?"
        return [
            {
                "client": row["client"],
                "key": row["key"],
                "stages": json.loads(row["stages"]),
                "received": rfc3339_ms(row["received_ms"] / 1000),
                "finished": rfc3339_ms(row["finished_ms"] / 1000),
                "status": row["status"],
            }
            for row in self._db.rows(sql, *params, limit)
        ]

    def prune(self, before: float) -> int:
        """Remove the records received before `before`; answer how many."""
        with self._db.transaction() as session:
            cursor = session.execute(
                "DELETE FROM audit WHERE received_ms < ?", (round(before * 1000),)
            )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()
