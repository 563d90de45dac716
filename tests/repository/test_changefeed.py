"""The change feed (repository/changefeed.py) on a real PostgreSQL: what one node commits
reaches the feeds of the others, named and gathered, never its own; a server that
restarts is told, and heard again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import psycopg
import pytest

from repository.changefeed import Change, ChangeFeed
from repository.clients import Client, ClientStore
from repository.entry import ServiceEntry
from repository.import_record import ImportRecord
from repository.store import Repository, RepositoryUnavailable
from tests.pg import PostgresServer
from tests.repository.test_store import http

WAIT_S = 5  # generous: a note takes milliseconds; this only bounds a failing test


class Heard:
    """What a feed handed on, in order."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.states: list[bool] = []

    async def on_change(self, change: Change) -> None:
        self.changes.append(change)

    async def on_state(self, connected: bool) -> None:
        self.states.append(connected)

    def entries(self) -> set[str]:
        return {id for change in self.changes for id in change.entries}

    async def until(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            assert time.monotonic() < deadline, (self.changes, self.states)
            await asyncio.sleep(0.005)


@pytest.fixture
async def heard(pg_dsn: str) -> AsyncIterator[Heard]:
    Repository(pg_dsn).close()  # the schema, and its triggers
    heard = Heard()
    feed = ChangeFeed(pg_dsn, origin="node-b", on_change=heard.on_change, on_state=heard.on_state)
    await feed.start()
    assert feed.connected
    yield heard
    await feed.stop()


@pytest.fixture
def node_a(pg_dsn: str) -> Repository:
    repo = Repository(pg_dsn, origin="node-a/3f2c")
    yield repo
    repo.close()


async def test_a_change_reaches_a_feed_of_another_origin(heard, node_a):
    started = time.monotonic()
    node_a.add(http("orders"))
    await heard.until(lambda: heard.changes)
    assert time.monotonic() - started < WAIT_S
    assert heard.changes == [Change(origin="node-a/3f2c", entries=frozenset({"orders@1.0.0"}))]


async def test_every_kind_of_change_names_its_entry(heard, node_a):
    for change in (
        lambda: node_a.add(http("orders")),
        lambda: node_a.replace("orders@1.0.0", http("orders", description="v2")),
        lambda: node_a.set_enabled("orders@1.0.0", False),
        lambda: node_a.delete("orders@1.0.0"),
    ):
        before = len(heard.changes)
        change()
        await heard.until(lambda: len(heard.changes) > before)  # noqa: B023
        assert heard.changes[-1].entries == {"orders@1.0.0"}


async def test_its_own_origin_is_not_handed_on(heard, node_a, pg_dsn):
    own = Repository(pg_dsn, origin="node-b")
    own.add(http("mine"))
    node_a.add(http("theirs"))  # after it: once this is heard, the other was left out
    await heard.until(lambda: heard.changes)
    assert heard.entries() == {"theirs@1.0.0"}
    own.close()


async def test_clients_and_settings_are_named(heard, node_a):
    now = datetime.now(UTC)
    client = Client("crm", "n", ("*",), "$argon2id$x", now, now)
    ClientStore(node_a.transaction, node_a.rows).add(client)
    node_a.put_setting("purge_policy", {"on": "idle"})
    await heard.until(lambda: {"crm"} <= clients(heard) and {"purge_policy"} <= settings(heard))
    assert all(change.origin == "node-a/3f2c" for change in heard.changes)


def clients(heard: Heard) -> set[str]:
    return {id for change in heard.changes for id in change.clients}


def settings(heard: Heard) -> set[str]:
    return {key for change in heard.changes for key in change.settings}


async def test_an_import_of_thousands_is_one_change_or_a_few(heard, node_a):
    record = ImportRecord(kind="openapi", document="{}", url="http://h/api")
    made = [ServiceEntry(name=f"api.op{i}", kind="http", target={}) for i in range(3000)]
    await asyncio.to_thread(node_a.apply_import, record, made)
    ids = {e.id for e in made}
    await heard.until(lambda: heard.entries() >= ids)
    assert len(heard.changes) <= 3, [len(c.entries) for c in heard.changes]
    heard.changes.clear()
    await asyncio.to_thread(node_a.apply_import, record, [])  # all of them removed
    await heard.until(lambda: heard.entries() >= ids)
    assert len(heard.changes) <= 3


async def test_a_change_made_by_hand_has_no_origin(heard, node_a, pg_dsn):
    node_a.add(http("orders"))
    await heard.until(lambda: heard.changes)
    with psycopg.connect(pg_dsn) as db:
        db.execute("UPDATE entries SET enabled = false")
    await heard.until(lambda: len(heard.changes) == 2)
    assert heard.changes[-1] == Change(origin="", entries=frozenset({"orders@1.0.0"}))


async def test_a_key_too_long_for_a_note_makes_the_change_partial(heard, node_a):
    node_a.add(ServiceEntry(id="x" * 9000, name="long", kind="http", target={}))
    await heard.until(lambda: heard.changes)
    assert heard.changes[0].partial and heard.changes[0].entries == frozenset()


async def test_a_restart_is_told_and_changes_are_heard_again(
    heard, node_a, postgres: PostgresServer
):
    await asyncio.to_thread(postgres.restart)
    await heard.until(lambda: heard.states == [False, True])
    node_a.add(http("after"))  # the repository reconnects too
    await heard.until(lambda: heard.entries() == {"after@1.0.0"})


async def test_start_without_a_server_is_unavailable_and_names_no_password():
    heard, dsn = Heard(), "postgresql://igw:s3cr3t-pw@127.0.0.1:1/db"
    feed = ChangeFeed(dsn, origin="x", on_change=heard.on_change, on_state=heard.on_state)
    with pytest.raises(RepositoryUnavailable) as info:
        await feed.start()
    assert "s3cr3t-pw" not in str(info.value) and "igw:***@127.0.0.1:1/db" in str(info.value)
