"""The audit log's buffer (gateway/audit.py) over a real SQLite file: records never wait,
a full buffer drops and counts, a stop writes what is left, old records are pruned."""

from __future__ import annotations

import logging
import time

import pytest
from prometheus_client import CollectorRegistry

from gateway.audit import AuditLog
from repository.audit import AuditRecord, AuditStore


def log_of(tmp_path, **kwargs):
    registry = CollectorRegistry()
    store = AuditStore(tmp_path / "audit.sqlite")
    return AuditLog(store, registry, keep_days=30, **kwargs), registry


async def test_a_stop_writes_what_is_waiting(tmp_path):
    audit, _ = log_of(tmp_path, interval_s=3600)
    audit.start()
    audit.record("c1", "k1", ("validator@1.0.0",), time.time(), 200)
    await audit.stop()
    (record,) = AuditStore(tmp_path / "audit.sqlite").query()
    assert record["client"] == "c1" and record["stages"] == ["validator@1.0.0"]


async def test_a_full_buffer_drops_counts_and_says_so_once(tmp_path, caplog):
    audit, registry = log_of(tmp_path, capacity=3, interval_s=3600)
    for i in range(10):
        audit.record(None, f"k{i}", (), time.time(), 200)
    assert registry.get_sample_value("igw_audit_dropped_total") == 7
    assert registry.get_sample_value("igw_audit_waiting") == 3
    with caplog.at_level(logging.WARNING, "integration_gateway.audit"):
        assert await audit.flush() == 3
        assert await audit.flush() == 0
    assert [r.message for r in caplog.records] == [
        "audit buffer full (3 records): 7 records dropped"
    ]
    assert registry.get_sample_value("igw_audit_written_total") == 3
    assert [r["key"] for r in await audit.query()] == ["k2", "k1", "k0"]


async def test_a_failed_write_keeps_the_batch_for_the_next(tmp_path):
    audit, _ = log_of(tmp_path)
    audit.record(None, "k", (), time.time(), 200)
    real = audit.store.write

    def broken(records):
        raise OSError("disk full")

    audit.store.write = broken  # a fault a real disk will not show on demand
    with pytest.raises(OSError):
        await audit.flush()
    audit.store.write = real
    assert await audit.flush() == 1


def test_prune_removes_only_records_older_than_the_limit(tmp_path):
    store = AuditStore(tmp_path / "a.sqlite")
    now = time.time()
    old = AuditRecord.of(None, "old", (), now - 40 * 86400, now - 40 * 86400, 200)
    new = AuditRecord.of(None, "new", (), now, now, 200)
    store.write([old, new])
    assert store.prune(now - 30 * 86400) == 1
    assert [r["key"] for r in store.query()] == ["new"]


def test_times_are_rfc3339_utc_with_milliseconds(tmp_path):
    store = AuditStore(tmp_path / "a.sqlite")
    store.write([AuditRecord.of("c", "k", ("s",), 1764633600.1234, 1764633600.5, 403)])
    (r,) = store.query()
    assert (
        r["received"] == "2025-12-02T00:00:00.123Z" and r["finished"] == "2025-12-02T00:00:00.500Z"
    )
