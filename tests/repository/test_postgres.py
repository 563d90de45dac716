"""What only PostgreSQL has to show (repository/database.py): nodes that open a fresh
database at once, a newer schema refused, a server that goes away and comes back, and
a dsn's password kept out of every message."""

from __future__ import annotations

import socket
import threading
import time
import traceback

import psycopg
import pytest

from repository.audit import AuditStore
from repository.database import masked
from repository.schema import POSTGRES_SCHEMA_VERSION
from repository.store import Repository, RepositoryError, RepositoryUnavailable
from tests.pg import PostgresServer
from tests.repository.test_store import http

FAST_S = 3  # connect_timeout; a refused connection answers in milliseconds


def test_nodes_opening_a_fresh_database_at_once_make_one_schema(pg_dsn):
    start, opened, failed = threading.Barrier(8), [], []

    def open_it() -> None:
        start.wait()
        try:
            opened.append(Repository(pg_dsn, origin=threading.current_thread().name))
        except Exception as e:
            failed.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == [] and len(opened) == 8
    with psycopg.connect(pg_dsn) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [
            (POSTGRES_SCHEMA_VERSION,)
        ]
    for repo in opened:
        repo.close()


def test_a_newer_schema_is_refused(pg_dsn):
    Repository(pg_dsn).close()
    with psycopg.connect(pg_dsn) as db:
        db.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(RepositoryError, match="schema version"):
        Repository(pg_dsn)


def test_the_repository_says_it_is_shared(pg_dsn):
    repo = Repository(pg_dsn)
    assert repo.shared is True
    repo.close()


def test_a_write_while_the_server_is_down_is_unavailable_at_once(pg_dsn, postgres):
    repo = Repository(pg_dsn)
    repo.add(http("before"))
    postgres.stop()
    try:
        for call in (lambda: repo.add(http("during")), lambda: repo.get("before@1.0.0")):
            started = time.monotonic()
            with pytest.raises(RepositoryUnavailable):
                call()
            assert time.monotonic() - started < FAST_S
        assert [e.id for e in repo.by_name("before")] == ["before@1.0.0"]  # from memory
    finally:
        postgres.start()
    repo.add(http("after"))
    assert {e.id for e in repo.list()} == {"before@1.0.0", "after@1.0.0"}
    repo.close()


def test_a_restarted_server_is_used_again_at_the_next_call(pg_dsn, postgres: PostgresServer):
    repo = Repository(pg_dsn)
    audit = AuditStore(pg_dsn)
    repo.add(http("before"))
    postgres.restart()
    repo.add(http("after"))  # the lost connection proves so at BEGIN: once more, anew
    assert repo.get("before@1.0.0").name == "before"
    assert audit.query() == []
    repo.close()
    audit.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("open_it", [Repository, AuditStore])
def test_the_password_is_in_no_message(open_it):
    dsn = f"postgres://igw:s3cr3t-pw@127.0.0.1:{closed_port()}/igw?sslmode=disable"
    with pytest.raises(RepositoryUnavailable) as info:
        open_it(dsn)
    shown = "".join(traceback.format_exception(info.value))
    assert "s3cr3t-pw" not in shown and "igw:***@127.0.0.1" in shown


def test_masked_hides_a_password_wherever_the_dsn_has_it():
    assert masked("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert masked("postgresql://u@h/db?password=p&sslmode=require") == (
        "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert masked("postgres://h1,h2/db") == "postgres://h1,h2/db"
