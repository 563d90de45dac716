"""SPEC §10.2: python services run code, so the operator names the modules they may come
from; everything else is refused at registration, on reload, and held back at start."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import problem

SERVICE = """
import json
from json import loads  # imported into the module, not defined there
from os import system

MARK = {mark!r}
open(MARK, "w").write("imported")  # so a test can tell whether the module was imported


def shout(message):
    return message.body.upper()


class Counter:
    def __call__(self, message):
        return message

    def method(self, message):
        return message
"""


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package `acme.services` with a module `svc` (and `acme.servicesx`, a lookalike)."""
    root = tmp_path / "code"
    for package in ("acme", "acme/services", "acme/servicesx"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "acme/services/svc.py").write_text(SERVICE.format(mark=str(tmp_path / "svc.mark")))
    (root / "acme/servicesx/svc.py").write_text(SERVICE.format(mark=str(tmp_path / "x.mark")))
    monkeypatch.syspath_prepend(str(root))
    return tmp_path


def python_entry(name: str, ref: str) -> dict[str, Any]:
    return {"name": name, "kind": "python", "target": {"callable": ref}, "output": "same"}


async def registers(gw: Any, name: str, ref: str) -> bool:
    return (await gw.adm("POST", "/services", python_entry(name, ref))).status == 201


async def refused(gw: Any, ref: str) -> str:
    answer = await gw.adm("POST", "/services", python_entry("x", ref))
    body = await problem(answer, 422, "invalid-entry")
    (error,) = body["errors"]
    assert error["field"] == "target/callable" and "target.callable" in error["reason"]
    return error["reason"]


async def test_by_default_only_the_builtins_callables_may_run(gw: Any, modules: Path) -> None:
    assert "python_modules" in await refused(gw, "subprocess:Popen")
    assert "python_modules" in await refused(gw, "os:system")
    assert "python_modules" in await refused(gw, "acme.services.svc:shout")
    assert not (modules / "svc.mark").exists()  # refused before anything was imported
    logger = python_entry("my_logger", "repository.builtins:Logger")
    assert (await gw.adm("POST", "/services", logger)).status == 201


async def test_an_allowed_module_runs_and_others_stay_refused(
    start_gateway: Any, modules: Path
) -> None:
    gw = await start_gateway(repository={"python_modules": ["acme.services.*"]})
    assert await registers(gw, "shout", "acme.services.svc:shout")
    r = await gw.call("shout", b"hi", "text/plain")
    assert r.status == 200 and r.body == b"HI"
    # Matched on the dotted name, case-sensitively, a package's own name not included.
    assert "python_modules" in await refused(gw, "acme.servicesx.svc:shout")
    assert "python_modules" in await refused(gw, "acme.services:json")
    assert "python_modules" in await refused(gw, "ACME.services.svc:shout")
    assert not (modules / "x.mark").exists()


async def test_names_imported_into_an_allowed_module_and_attribute_paths_are_refused(
    start_gateway: Any, modules: Path
) -> None:
    gw = await start_gateway(repository={"python_modules": ["acme.services.svc"]})
    assert "defined in json" in await refused(gw, "acme.services.svc:loads")
    assert "no function or class" in await refused(gw, "acme.services.svc:system")
    assert "no function or class" in await refused(gw, "acme.services.svc:MARK")
    assert "attribute path" in await refused(gw, "acme.services.svc:Counter.method")
    assert await registers(gw, "c", "acme.services.svc:Counter")


async def test_a_replace_is_held_to_the_rule_too(gw: Any) -> None:
    r = await gw.adm("PUT", "/services/logger@1.0.0", python_entry("logger", "os:system"))
    await problem(r, 422, "invalid-entry")
    assert (await (await gw.adm("GET", "/services/logger@1.0.0")).json())["target"] == {
        "callable": "repository.builtins:Logger"
    }


def service_file(folder: Path, ref: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "py.json").write_text(json.dumps(python_entry("filed", ref)))


async def test_reload_refuses_a_file_naming_a_module_not_allowed(
    start_gateway: Any, tmp_path: Path
) -> None:
    (tmp_path / "services").mkdir()
    gw = await start_gateway(repository={"service_dirs": ["services"]})
    service_file(tmp_path / "services", "subprocess:Popen")
    body = await problem(await gw.adm("POST", "/services:reload"), 422, "invalid-entry")
    assert "py.json" in body["detail"] and "target.callable" in json.dumps(body["errors"])
    assert (await gw.adm("GET", "/services/filed@1.0.0")).status == 404


async def test_entries_refused_after_an_upgrade_are_held_back_at_start_not_lost(
    start_gateway: Any, tmp_path: Path, modules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    allowed = {"python_modules": ["acme.services.*"], "service_dirs": ["services"]}
    service_file(tmp_path / "services", "acme.services.svc:shout")
    first = await start_gateway(work=tmp_path, repository=allowed)
    registered = python_entry("shout", "acme.services.svc:shout")
    assert (await first.adm("POST", "/services", registered)).status == 201
    assert (await first.call("filed", b"a", "text/plain")).body == b"A"
    await first.gateway.stop()

    with caplog.at_level(logging.WARNING, logger="integration_gateway"):
        second = await start_gateway(work=tmp_path, repository={"service_dirs": ["services"]})
    held = [r.getMessage() for r in caplog.records if "held back" in r.getMessage()]
    assert len(held) == 2, held  # one log line each
    for id in ("shout@1.0.0", "filed@1.0.0"):
        shown = await (await second.adm("GET", f"/services/{id}")).json()
        assert shown["enabled"] is False and "python_modules" in shown["held"]
        called = await second.call(id.split("@")[0], b"a", "text/plain")
        await problem(called, 404, "service-not-found")
        await problem(await second.adm("POST", f"/services/{id}/enable"), 422, "invalid-entry")
    listed = {e["id"]: e for e in (await (await second.adm("GET", "/services")).json())["items"]}
    assert listed["shout@1.0.0"]["enabled"] is False
    # Kept, so a configuration that allows the module again brings them back.
    await second.gateway.stop()
    third = await start_gateway(work=tmp_path, repository=allowed)
    assert (await third.call("shout", b"b", "text/plain")).body == b"B"
    assert "held" not in await (await third.adm("GET", "/services/filed@1.0.0")).json()


def test_the_readme_says_that_a_python_service_runs_code() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "python_modules" in readme and "runs code" in readme
