"""Resolution reads the repository's enabled entries from memory (repository/index.py);
every way the repository changes keeps that index equal to what the database holds."""

from __future__ import annotations

import pytest

from repository.builtins import BUILTIN_ENTRIES
from repository.entry import ServiceEntry
from repository.import_record import ImportRecord
from repository.index import EntryIndex
from repository.store import Repository
from tests.entries import check_target
from tests.repository.test_store import http, soap


@pytest.fixture
def repo(target):
    r = Repository(target)
    r.index()  # built: from here on, changes update it in place
    yield r
    r.close()


def shape(index: EntryIndex, names: set[str]) -> dict[str, object]:
    return {
        "by_name": {n: [e.to_json() for e in index.by_name(n)] for n in sorted(names)},
        "converters": [e.to_json() for e in index.converters()],
        "soap": sorted(e.id for e in index.of_kind("soap")),
        "len": len(index),
    }


def assert_current(repo: Repository) -> None:
    """The index in use equals one built afresh from the file."""
    stored = repo.list()
    names = {e.name for e in stored} | {"gone", "renamed"}
    assert shape(repo.index(), names) == shape(EntryIndex(stored), names)


def test_every_change_of_one_entry_updates_the_index(repo):
    repo.add(http("orders"))
    assert [e.id for e in repo.by_name("orders")] == ["orders@1.0.0"]
    repo.add(http("orders", "2.0.0"))
    assert_current(repo)
    repo.replace("orders@1.0.0", http("renamed"))  # the id stays, the name moves
    assert [e.id for e in repo.by_name("renamed")] == ["orders@1.0.0"]
    assert [e.id for e in repo.by_name("orders")] == ["orders@2.0.0"]
    assert_current(repo)
    repo.set_enabled("orders@2.0.0", False)
    assert repo.by_name("orders") == []
    assert_current(repo)
    repo.set_enabled("orders@2.0.0", True)
    assert [e.id for e in repo.by_name("orders")] == ["orders@2.0.0"]
    repo.delete("orders@2.0.0")
    assert repo.by_name("orders") == []
    assert_current(repo)


def test_seeding_and_converters_update_the_index(repo):
    repo.seed(BUILTIN_ENTRIES)
    assert {e.name for e in repo.converters()} == {"json_to_xml", "xml_to_json"}
    repo.set_enabled("json_to_xml@1.0.0", False)
    assert {e.name for e in repo.converters()} == {"xml_to_json"}
    assert_current(repo)


def test_imports_update_the_index_and_a_failed_one_changes_nothing(repo):
    rec = ImportRecord(kind="wsdl", document="<definitions/>", url="http://h/calc?wsdl")
    repo.apply_import(rec, [soap("calc.Add", rec.url), soap("calc.Sub", rec.url)])
    assert [e.id for e in repo.by_target("soap", wsdl=rec.url)] == [
        "calc.Add@1.0.0",
        "calc.Sub@1.0.0",
    ]
    again = ImportRecord(id=rec.id, kind="wsdl", document="<d/>", url=rec.url, created=rec.created)
    repo.apply_import(again, [soap("calc.Mul", rec.url, description="multiplies")])
    assert [e.id for e in repo.by_target("soap", wsdl=rec.url)] == ["calc.Mul@1.0.0"]
    assert_current(repo)

    def broken():
        yield soap("calc.Div", rec.url)
        raise RuntimeError("the importer broke")

    with pytest.raises(RuntimeError):
        repo.apply_import(again, broken())
    assert repo.by_name("calc.Div") == []
    assert_current(repo)


def test_reloading_service_files_updates_the_index(repo, tmp_path):
    folder = tmp_path / "services"
    folder.mkdir()
    (folder / "a.json").write_text(
        '{"name": "gone", "kind": "http", "target": {"url": "http://svc/a"}}'
    )
    repo.reload_service_dirs([folder], check_target=check_target)
    assert [e.id for e in repo.by_name("gone")] == ["gone@1.0.0"]
    (folder / "a.json").unlink()
    repo.reload_service_dirs([folder], check_target=check_target)
    assert repo.by_name("gone") == []
    assert_current(repo)


def test_another_connections_change_is_seen_at_the_next_read(tmp_path):
    repo, other = (Repository(tmp_path / "repository.sqlite") for _ in range(2))
    repo.index()
    other.add(http("elsewhere"))
    assert [e.id for e in repo.by_name("elsewhere")] == ["elsewhere@1.0.0"]
    other.delete("elsewhere@1.0.0")
    assert repo.by_name("elsewhere") == []
    other.close()
    repo.close()


def test_another_nodes_change_is_seen_once_refreshed(repo, target):
    other = Repository(target, origin="other")
    other.add(http("elsewhere"))
    other.add(http("gone"))
    repo.refresh(["elsewhere@1.0.0", "gone@1.0.0"])
    assert [e.id for e in repo.by_name("elsewhere")] == ["elsewhere@1.0.0"]
    other.delete("elsewhere@1.0.0")
    other.set_enabled("gone@1.0.0", False)
    repo.refresh(["elsewhere@1.0.0", "gone@1.0.0", "never@1"])
    assert repo.by_name("elsewhere") == [] and repo.by_name("gone") == []
    assert_current(repo)
    other.close()


def test_resync_rebuilds_the_index_from_the_database(repo, target):
    other = Repository(target, origin="other")
    other.seed(BUILTIN_ENTRIES)
    repo.resync()
    assert len(repo.index()) == len(BUILTIN_ENTRIES)
    assert_current(repo)
    other.close()


def test_on_postgresql_reads_of_the_index_never_ask_the_server(pg_dsn):
    repo, other = Repository(pg_dsn), Repository(pg_dsn, origin="other")
    other.add(http("elsewhere"))
    assert repo.by_name("elsewhere") == []  # not yet told
    repo.refresh(["elsewhere@1.0.0"])
    assert [e.id for e in repo.by_name("elsewhere")] == ["elsewhere@1.0.0"]
    repo.close()  # and still answers
    assert [e.id for e in repo.by_name("elsewhere")] == ["elsewhere@1.0.0"]
    other.close()


def test_a_bulk_change_rebuilds_the_index(repo):
    target = {"url": "http://b"}
    many = [ServiceEntry(name=f"bulk.n{i}", kind="http", target=target) for i in range(1500)]
    repo.seed(many)
    assert len(repo.index()) == 1500
    assert [e.id for e in repo.by_name("bulk.n1499")] == ["bulk.n1499@1.0.0"]
    assert_current(repo)
