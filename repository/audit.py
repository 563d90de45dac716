"""Audit records (SPEC §9): one an integration request, `{"client", "key", "stages",
"received", "finished", "status"}`, in an SQLite file of their own.

Not the repository's file: records are written several times a second, and every write
to that file makes each process rebuild its resolution index (`PRAGMA data_version`).
WAL with `synchronous=NORMAL`: a batch survives the process's crash once written; the
last batches before a power cut may not. Writes come in batches from a thread
(`gateway.audit`), reads from the admin API; one lock serializes them.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

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
    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        for statement in SCHEMA:
            self._db.execute(statement)

    def write(self, records: Iterable[AuditRecord]) -> int:
        """Store `records` in one transaction; answer how many."""
        rows = records if isinstance(records, list) else list(records)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO audit (client, key, stages, received_ms, finished_ms, status)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
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
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [
            {
                "client": client,
                "key": key,
                "stages": json.loads(stages),
                "received": rfc3339_ms(received / 1000),
                "finished": rfc3339_ms(finished / 1000),
                "status": status,
            }
            for _, client, key, stages, received, finished, status in rows
        ]

    def prune(self, before: float) -> int:
        """Remove the records received before `before`; answer how many."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM audit WHERE received_ms < ?", (round(before * 1000),)
            )
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
