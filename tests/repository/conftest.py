"""The repository's tests run on both databases: `target` is an SQLite file's path or a
fresh PostgreSQL database's dsn (tests/pg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    if request.param == "sqlite":
        return tmp_path / "var" / "repository.sqlite"
    return request.getfixturevalue("pg_dsn")
