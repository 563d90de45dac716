"""The audit's table (repository/audit.py) on both databases: records read back newest
first, by client, key and time, and pruned."""

from __future__ import annotations

import pytest

from repository.audit import AuditRecord, AuditStore


@pytest.fixture
def store(target):
    s = AuditStore(target)
    yield s
    s.close()


def test_records_read_back_newest_first(store):
    records = [
        AuditRecord.of("c1", "k1", ("validator@1.0.0",), 1000.0, 1000.25, 200),
        AuditRecord.of(None, None, (), 1001.0, 1001.5, 401),
    ]
    assert store.write(records) == 2
    newest, oldest = store.query()
    assert newest == {
        "client": None,
        "key": None,
        "stages": [],
        "received": "1970-01-01T00:16:41.000Z",
        "finished": "1970-01-01T00:16:41.500Z",
        "status": 401,
    }
    assert oldest["client"] == "c1" and oldest["stages"] == ["validator@1.0.0"]


def test_query_filters_by_client_key_and_time(store):
    store.write(
        [AuditRecord.of(f"c{i % 2}", f"k{i}", (), 1000.0 + i, 1000.0 + i, 200) for i in range(6)]
    )
    assert [r["key"] for r in store.query(client="c1")] == ["k5", "k3", "k1"]
    assert [r["key"] for r in store.query(key="k2")] == ["k2"]
    assert [r["key"] for r in store.query(since=1004)] == ["k5", "k4"]
    assert [r["key"] for r in store.query(limit=1)] == ["k5"]


def test_prune_removes_what_came_before(store):
    store.write([AuditRecord.of("c", f"k{i}", (), 1000.0 + i, 1000.0 + i, 200) for i in range(4)])
    assert store.prune(1002) == 2
    assert [r["key"] for r in store.query()] == ["k3", "k2"]


def test_a_second_store_on_the_same_database_reads_the_first_ones_records(target):
    first = AuditStore(target)
    first.write([AuditRecord.of("c", "k", (), 1000.0, 1000.0, 200)])
    first.close()
    again = AuditStore(target)
    assert len(again.query()) == 1
    again.close()
