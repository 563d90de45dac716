import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from igwcore.problems import Conflict, InvalidEntry, NotFound
from repository.builtins import BUILTIN_ENTRIES
from repository.entry import ServiceEntry
from repository.import_record import ImportRecord
from repository.schema import SCHEMA_VERSION
from repository.store import Repository, RepositoryError
from tests.entries import check_target

ROOT = Path(__file__).resolve().parents[2]


def http(name: str, version: str = "1.0.0", **changes) -> ServiceEntry:
    fields = {"target": {"url": f"http://svc/{name}"}, **changes}
    return ServiceEntry(name=name, version=version, kind="http", **fields)


def soap(name: str, wsdl: str, **changes) -> ServiceEntry:
    target = {"wsdl": wsdl, "service": "S", "port": "P", "operation": name.split(".")[-1]}
    return ServiceEntry(name=name, kind="soap", target=target, **changes)


def origin(repo: Repository, id: str) -> tuple[str, str | None]:
    """(origin, import id or service file) of an entry, as the repository file keeps it."""
    (row,) = repo.rows("SELECT origin, import_id, source FROM entries WHERE id = ?", id)
    return row["origin"], row["import_id"] or row["source"]


@pytest.fixture
def repo(target):
    r = Repository(target)
    yield r
    r.close()


# --- one entry ------------------------------------------------------------------------------


def test_added_entry_reads_back_equal(repo):
    entry = http(
        "orders", params={"x": {"type": "string", "default": "1"}}, input=("application/json",)
    )
    assert repo.add(entry) == entry
    assert repo.get("orders@1.0.0") == entry
    assert repo.list() == [entry]


def test_adding_an_existing_id_is_a_conflict(repo):
    repo.add(http("orders"))
    with pytest.raises(Conflict):
        repo.add(http("orders", description="again"))
    assert repo.get("orders@1.0.0").description == ""


def test_missing_entry_is_not_found(repo):
    for call in (repo.get, repo.delete, lambda id: repo.set_enabled(id, False)):
        with pytest.raises(NotFound):
            call("nope@1")
    with pytest.raises(NotFound):
        repo.replace("nope@1", http("nope"))


def test_replace_keeps_the_id_from_the_path(repo):
    repo.add(http("orders"))
    new = repo.replace("orders@1.0.0", http("orders", version="2.0.0", description="v2"))
    assert new.id == "orders@1.0.0" and new.version == "2.0.0"
    assert repo.get("orders@1.0.0") == new
    assert [e.id for e in repo.list()] == ["orders@1.0.0"]


def test_delete_answers_the_removed_entry(repo):
    entry = repo.add(http("orders"))
    assert repo.delete(entry.id) == entry
    assert repo.list() == []


def test_disabled_entry_is_listed_but_not_resolved(repo):
    repo.add(http("orders"))
    repo.add(http("c", converter=True, output="application/xml"))
    assert repo.set_enabled("orders@1.0.0", False).enabled is False
    assert repo.set_enabled("c@1.0.0", False).enabled is False
    assert repo.get("orders@1.0.0").enabled is False
    assert repo.by_name("orders") == [] and repo.converters() == []
    repo.set_enabled("orders@1.0.0", True)
    assert [e.id for e in repo.by_name("orders")] == ["orders@1.0.0"]


def test_by_name_gives_every_enabled_version(repo):
    repo.add(http("orders", "1.0.0"))
    repo.add(http("orders", "1.1.0"))
    repo.add(http("other"))
    assert sorted(e.version for e in repo.by_name("orders")) == ["1.0.0", "1.1.0"]


def test_list_filters_by_name_input_and_output(repo):
    repo.seed(BUILTIN_ENTRIES)
    repo.add(http("csv", input=("text/*",), output="text/csv"))
    assert [e.id for e in repo.list(name="logger")] == ["logger@1.0.0"]
    accepts_xml = {e.name for e in repo.list(input="text/xml")}
    assert accepts_xml == {"logger", "validator", "xml_to_json", "xml_validator", "xslt"}
    assert {e.name for e in repo.list(input="text/plain")} == {"logger", "validator", "csv"}
    assert {e.name for e in repo.list(output="XML")} == {"json_to_xml", "xslt"}
    assert {e.name for e in repo.list(output="text/*")} == {"csv"}
    assert {e.name for e in repo.list(output="same")} == {"logger", "validator", "xml_validator"}


def test_by_target_finds_soap_operations_of_a_wsdl(repo):
    repo.add(soap("calc.Add", "http://h/calc?wsdl"))
    repo.add(soap("calc.Sub", "http://h/calc?wsdl"))
    repo.add(soap("other.Add", "http://h/other?wsdl"))
    repo.add(soap("calc.Mul", "http://h/calc?wsdl", enabled=False))
    found = repo.by_target("soap", wsdl="http://h/calc?wsdl")
    assert [e.name for e in found] == ["calc.Add", "calc.Sub"]
    assert [e.name for e in repo.by_target("soap", wsdl="http://h/calc?wsdl", operation="Sub")] == [
        "calc.Sub"
    ]


# --- the file -------------------------------------------------------------------------------


def test_repository_file_is_in_wal_mode_with_full_sync(tmp_path):
    path = tmp_path / "var" / "repository.sqlite"
    repo = Repository(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert repo.rows("PRAGMA synchronous")[0][0] == 2  # FULL
    assert repo.shared is False
    repo.close()


def test_data_survives_reopening(target):
    first = Repository(target)
    first.add(http("orders"))
    first.set_enabled("orders@1.0.0", False)
    first.close()
    again = Repository(target)
    assert again.get("orders@1.0.0") == http("orders", enabled=False)
    again.close()


def test_committed_change_survives_a_crash(target):
    run_and_crash(target, "repo.add(http('orders'))")
    reopened = Repository(target)
    assert reopened.get("orders@1.0.0").name == "orders"
    reopened.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RepositoryError, match="schema version"):
        Repository(path)


def test_two_repositories_on_one_database_see_each_other(target):
    a, b = Repository(target), Repository(target)
    a.add(http("orders"))
    assert b.get("orders@1.0.0").name == "orders"
    a.close()
    b.close()


def test_concurrent_calls_from_threads_are_serialized(repo):
    def worker(n: int) -> None:
        for i in range(20):
            repo.add(http(f"s{n}", f"1.{i}"))
            repo.list(name=f"s{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(repo.list()) == 160


# --- built-ins ------------------------------------------------------------------------------


def test_seed_adds_builtins_once(repo):
    assert repo.seed(BUILTIN_ENTRIES) == [e.id for e in BUILTIN_ENTRIES]
    assert repo.seed(BUILTIN_ENTRIES) == []
    assert {e.id for e in repo.list()} == {e.id for e in BUILTIN_ENTRIES}


def test_deleted_builtin_does_not_come_back_on_restart(target):
    first = Repository(target)
    first.seed(BUILTIN_ENTRIES)
    first.delete("xslt@1.0.0")
    first.close()
    again = Repository(target)
    assert again.seed(BUILTIN_ENTRIES) == []
    with pytest.raises(NotFound):
        again.get("xslt@1.0.0")
    again.close()


def test_builtin_of_a_later_release_is_added(repo):
    repo.seed(BUILTIN_ENTRIES[:2])
    assert repo.seed(BUILTIN_ENTRIES) == [e.id for e in BUILTIN_ENTRIES[2:]]


def test_seed_leaves_an_operators_entry_of_the_same_id_alone(repo):
    mine = ServiceEntry(name="logger", kind="http", target={"url": "http://mine"})
    repo.add(mine)
    assert "logger@1.0.0" not in repo.seed(BUILTIN_ENTRIES)
    assert repo.get("logger@1.0.0") == mine
    assert origin(repo, "logger@1.0.0") == ("api", None)


# --- imports --------------------------------------------------------------------------------


def record(**changes) -> ImportRecord:
    fields = {"kind": "wsdl", "document": "<definitions/>", "url": "http://h/calc?wsdl", **changes}
    return ImportRecord(**fields)


def test_import_adds_its_entries_and_remembers_the_record(repo):
    rec = record(prefix="calc", version="1.0.0")
    entries = [soap("calc.Add", rec.url), soap("calc.Sub", rec.url)]
    assert repo.apply_import(rec, entries) == {
        "added": ["calc.Add@1.0.0", "calc.Sub@1.0.0"],
        "changed": [],
        "removed": [],
    }
    assert repo.get_import(rec.id) == rec
    assert repo.list_imports() == [rec]
    assert repo.import_entries(rec.id) == entries
    assert origin(repo, "calc.Add@1.0.0") == ("import", rec.id)
    assert rec.to_json()["created"].endswith("Z") and "document" not in rec.to_json()


def test_refresh_reports_added_changed_and_removed(repo):
    rec = record()
    repo.apply_import(rec, [soap("calc.Add", rec.url), soap("calc.Sub", rec.url)])
    again = record(id=rec.id, document="<definitions v='2'/>", created=rec.created)
    changes = repo.apply_import(
        again,
        [
            soap("calc.Add", rec.url, description="adds"),
            soap("calc.Sub", rec.url),
            soap("calc.Mul", rec.url),
        ],
    )
    assert changes == {"added": ["calc.Mul@1.0.0"], "changed": ["calc.Add@1.0.0"], "removed": []}
    changes = repo.apply_import(again, [soap("calc.Mul", rec.url)])
    assert changes == {"added": [], "changed": [], "removed": ["calc.Add@1.0.0", "calc.Sub@1.0.0"]}
    assert repo.get_import(rec.id).document == "<definitions v='2'/>"


def test_import_colliding_with_another_entry_changes_nothing(repo):
    repo.add(http("calc.Sub"))
    rec = record()
    with pytest.raises(Conflict, match=r"calc\.Sub@1\.0\.0"):
        repo.apply_import(
            rec, [soap("calc.Add", rec.url), soap("calc.Sub", rec.url), soap("calc.Mul", rec.url)]
        )
    assert [e.id for e in repo.list()] == ["calc.Sub@1.0.0"]
    assert repo.list_imports() == []
    with pytest.raises(NotFound):
        repo.get_import(rec.id)


def test_import_giving_one_id_twice_changes_nothing(repo):
    rec = record()
    repo.apply_import(rec, [soap("calc.Add", rec.url)])
    with pytest.raises(Conflict, match="two services"):
        repo.apply_import(
            record(id=rec.id, document="new"),
            [soap("calc.Sub", rec.url), soap("calc.Sub", rec.url)],
        )
    assert [e.id for e in repo.list()] == ["calc.Add@1.0.0"]
    assert repo.get_import(rec.id).document == "<definitions/>"


def test_import_interrupted_by_an_error_changes_nothing(repo):
    rec = record()

    def entries():
        yield soap("calc.Add", rec.url)
        raise RuntimeError("the importer broke")

    with pytest.raises(RuntimeError):
        repo.apply_import(rec, entries())
    assert repo.list() == [] and repo.list_imports() == []
    repo.add(http("after"))  # the repository is still usable


def test_import_interrupted_by_a_process_crash_leaves_nothing(target):
    run_and_crash(
        target,
        """
        rec = ImportRecord(kind="wsdl", document="<d/>", url="http://h/x")
        def entries():
            yield http("calc.Add")
            yield http("calc.Sub")
            os._exit(3)
        repo.apply_import(rec, entries())
        """,
        expect=3,
    )
    reopened = Repository(target)
    assert reopened.list() == [] and reopened.list_imports() == []
    reopened.close()


def run_and_crash(target: str | Path, code: str, expect: int = 9) -> None:
    """Run `code` against a repository at `target` in another process that dies without
    closing anything (os._exit), as a crash would."""
    script = textwrap.dedent(
        """
        import os, sys
        sys.path.insert(0, {root!r})
        from repository.entry import ServiceEntry
        from repository.import_record import ImportRecord
        from repository.store import Repository
        def http(name):
            return ServiceEntry(name=name, kind="http", target={{"url": "http://svc"}})
        repo = Repository({target!r})
        """
    ).format(root=str(ROOT), target=str(target))
    script += textwrap.dedent(code) + "\nos._exit(9)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == expect, result.stderr.decode()


# --- service files --------------------------------------------------------------------------


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data))


def entry_json(name: str, **changes) -> dict:
    return {"name": name, "kind": "http", "target": {"url": f"http://svc/{name}"}, **changes}


def test_service_files_are_loaded_from_json_and_yaml(repo, tmp_path):
    folder = tmp_path / "services"
    folder.mkdir()
    write_json(folder / "one.json", entry_json("a"))
    write_json(folder / "many.json", [entry_json("b"), entry_json("c", version="2.0")])
    (folder / "more.yaml").write_text(
        "name: d\nkind: http\ntarget: {url: 'http://svc/d'}\n---\n"
        "- {name: e, kind: http, target: {url: 'http://svc/e'}, enabled: false}\n"
    )
    (folder / "notes.txt").write_text("ignored")
    changes = repo.reload_service_dirs([folder], check_target=check_target)
    assert sorted(changes["added"]) == ["a@1.0.0", "b@1.0.0", "c@2.0", "d@1.0.0", "e@1.0.0"]
    assert repo.get("e@1.0.0").enabled is False
    assert origin(repo, "a@1.0.0") == ("file", str(folder / "one.json"))


def test_reload_reports_changed_and_removed(repo, tmp_path):
    folder = tmp_path / "services"
    folder.mkdir()
    write_json(folder / "s.json", [entry_json("a"), entry_json("b")])
    repo.reload_service_dirs([folder], check_target=check_target)
    assert repo.reload_service_dirs([folder], check_target=check_target) == {
        "added": [],
        "changed": [],
        "removed": [],
    }
    write_json(folder / "s.json", [entry_json("a", description="new"), entry_json("c")])
    assert repo.reload_service_dirs([folder], check_target=check_target) == {
        "added": ["c@1.0.0"],
        "changed": ["a@1.0.0"],
        "removed": ["b@1.0.0"],
    }
    assert repo.reload_service_dirs([], check_target=check_target) == {
        "added": [],
        "changed": [],
        "removed": ["a@1.0.0", "c@1.0.0"],
    }


def test_reload_leaves_other_origins_alone(repo, tmp_path):
    repo.seed(BUILTIN_ENTRIES)
    repo.add(http("mine"))
    folder = tmp_path / "services"
    folder.mkdir()
    repo.reload_service_dirs([folder], check_target=check_target)
    assert len(repo.list()) == len(BUILTIN_ENTRIES) + 1


def test_invalid_service_file_is_named_and_changes_nothing(repo, tmp_path):
    folder = tmp_path / "services"
    folder.mkdir()
    write_json(folder / "a.json", entry_json("a"))
    repo.reload_service_dirs([folder], check_target=check_target)
    write_json(folder / "a.json", entry_json("a", description="changed"))
    write_json(
        folder / "b.json", [entry_json("b"), {"name": "bad name", "kind": "http", "target": {}}]
    )
    with pytest.raises(InvalidEntry) as info:
        repo.reload_service_dirs([folder], check_target=check_target)
    fields = [e["field"] for e in info.value.members["errors"]]
    assert fields and all(f.startswith(f"{folder / 'b.json'}#/1") for f in fields)
    assert repo.get("a@1.0.0").description == ""
    assert [e.id for e in repo.list()] == ["a@1.0.0"]


def test_service_file_that_does_not_parse_is_named(repo, tmp_path):
    folder = tmp_path / "services"
    folder.mkdir()
    (folder / "x.yml").write_text("name: [unclosed\n")
    with pytest.raises(InvalidEntry) as info:
        repo.reload_service_dirs([folder], check_target=check_target)
    assert info.value.members["errors"][0]["field"] == str(folder / "x.yml")


def test_service_file_cannot_take_an_id_registered_otherwise(repo, tmp_path):
    repo.add(http("a"))
    folder = tmp_path / "services"
    folder.mkdir()
    write_json(folder / "a.json", entry_json("a"))
    with pytest.raises(InvalidEntry, match="does not come from a service file"):
        repo.reload_service_dirs([folder], check_target=check_target)


def test_same_id_in_two_service_files_is_refused(repo, tmp_path):
    folder = tmp_path / "services"
    folder.mkdir()
    write_json(folder / "a.json", entry_json("a"))
    write_json(folder / "b.json", entry_json("a"))
    with pytest.raises(InvalidEntry, match="also defined in"):
        repo.reload_service_dirs([folder], check_target=check_target)
    assert repo.list() == []


def test_missing_service_folder_is_named(repo, tmp_path):
    with pytest.raises(InvalidEntry, match="not a folder"):
        repo.reload_service_dirs([tmp_path / "nope"], check_target=check_target)
