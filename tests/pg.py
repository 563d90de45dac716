"""A real PostgreSQL for tests: the server of `IGW_TEST_POSTGRES_DSN` (a role that may
CREATE DATABASE), else a throwaway cluster of this machine's PostgreSQL (initdb, trust,
loopback, fsync off), one a session.

`pg_dsn` is a fresh database a test, dropped after it. `restart`, `stop` and `start`
act on the throwaway cluster (a server given by dsn cannot be restarted: those tests skip).

initdb and pg_ctl refuse root: as root they run as the `postgres` user, in a folder it owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

__all__ = ["PostgresServer", "pg_dsn", "postgres"]

ENV = "IGW_TEST_POSTGRES_DSN"


@dataclass
class PostgresServer:
    """A server: `dsn` names its maintenance database; `data` is None for one given by dsn."""

    dsn: str
    data: Path | None = None
    bin: Path | None = None

    def url_for(self, database: str) -> str:
        """A `postgresql://` URL for `database` (what Repository takes)."""
        info = psycopg.conninfo.conninfo_to_dict(self.dsn)
        user = quote(str(info.get("user", "postgres")), safe="")
        password = f":{quote(str(info['password']), safe='')}" if info.get("password") else ""
        host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
        return f"postgresql://{user}{password}@{host}:{port}/{database}"

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server is back at once."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._pg_ctl("start")

    def _pg_ctl(self, *args: str) -> None:
        if self.data is None or self.bin is None:
            pytest.skip(f"the server of {ENV} is not this session's to restart")
        log = self.data.parent / "server.log"
        command = [str(self.bin / "pg_ctl"), "-w", "-D", str(self.data), "-l", str(log), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=60)


def initdb() -> Path | None:
    """The folder of this machine's initdb (the newest PostgreSQL), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def _major(path: str) -> int:
    version = Path(path).parts[-3]
    return int(version) if version.isdigit() else 0


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throwaway_cluster(bin: Path) -> Iterator[PostgresServer]:
    """A cluster of its own in a temporary folder, started; stopped and removed after
    (a generator: the fixture below, and `python -m bench` through contextmanager)."""
    folder = Path(tempfile.mkdtemp(prefix="igw-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, port = folder / "data", _free_port()
    command = [str(bin / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"]
    command += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
    subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=120)
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{folder}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }
    with open(data / "postgresql.conf", "a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    server = PostgresServer(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", data, bin)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server."""
    given = os.environ.get(ENV)
    if given:
        yield PostgresServer(given)
        return
    bin = initdb()
    if bin is None:
        pytest.skip(f"no PostgreSQL here: no initdb on PATH nor in /usr/lib/postgresql ({ENV})")
    yield from throwaway_cluster(bin)


@pytest.fixture
def pg_dsn(postgres: PostgresServer) -> Iterator[str]:
    """A `postgresql://` URL of a fresh, empty database, dropped after the test."""
    name = f"igw_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres.url_for(name)
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
