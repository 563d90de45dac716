"""SPEC §1–§3 end to end: the real gateway on loopback, a real upstream, real SQLite."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from xml.etree import ElementTree as ET

from tests.conftest import HEADER, Answer, http_entry, problem

PATENT_CORE = "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML"


async def test_pipe_of_builtins_misses_then_hits(gw):
    r1 = await gw.call(PATENT_CORE, {"invoice": {"no": "12"}})
    assert r1.status == 200, await r1.text()
    assert ET.fromstring(await r1.read()).findtext("no") == "12"
    assert r1.headers["Integration-Cache"] == "miss"
    assert r1.headers["Content-Type"].startswith("application/xml")
    r2 = await gw.call(PATENT_CORE.replace(" | ", "|"), {"invoice": {"no": "13"}})
    assert r2.headers["Integration-Cache"] == "hit"
    assert r2.headers["Integration-App"] == r1.headers["Integration-App"]
    timing = r2.headers["Server-Timing"]
    assert timing.count("dur=") == 3 and 's0;desc="logger"' in timing


async def test_logger_writes_inside_its_folder(gw, tmp_path):
    r = await gw.call("logger(file=audit.txt)", {"a": 1})
    assert r.status == 200
    assert (tmp_path / "var" / "log" / "audit.txt").read_text().strip()


async def test_logger_file_outside_its_folder_is_invalid_parameter(gw):
    j = await problem(await gw.call('logger(file="../../etc/x")', {}), 422, "invalid-parameter")
    assert j["parameter"] == "file" and j["stage"] == 0


async def test_syntax_error_gives_position_and_expected(gw):
    r = await gw.call("validator | (", {})
    j = await problem(r, 400, "syntax")
    assert j["position"] == 12 and j["expected"]


async def test_duplicate_header_is_refused(gw):
    async with gw.http.post(
        gw.base, data=b"{}", headers=[(HEADER, "validator"), (HEADER, "validator")]
    ) as r:
        await problem(r, 400, "duplicate-header")


async def test_header_limits_are_answered_by_the_gateway(gw):
    await problem(await gw.call("validator(x=" + "b" * 8500 + ")", {}), 431, "header-too-large")
    j = await problem(await gw.call("|".join(["validator"] * 40), {}), 400, "too-many-stages")
    assert j["limit"] == 32
    args = ", ".join(f"a{i}=1" for i in range(40))
    j = await problem(await gw.call(f"validator | validator({args})", {}), 400, "too-many-args")
    assert j["stage"] == 1 and j["limit"] == 32


async def test_unknown_service_names_the_stage(gw):
    r = await gw.call("validator | validator | kit.missing", {})
    j = await problem(r, 404, "service-not-found")
    assert j["stage"] == 2 and j["descriptor"] == "kit.missing"
    assert r.headers["Integration-App"]  # errors carry the key once it was computed


async def test_ambiguous_name_lists_candidates_and_args_pick_one(gw, upstream):
    for version, param in (("1.0.0", "x"), ("1.1.0", "y")):
        e = http_entry(
            "ov", upstream + "/upper", version, {param: {"type": "string", "default": "1"}}
        )
        assert (await gw.adm("POST", "/services", e)).status == 201
    j = await problem(await gw.call("ov", b"q", "text/plain"), 409, "ambiguous-service")
    assert sorted(c["id"] for c in j["candidates"]) == ["ov@1.0.0", "ov@1.1.0"]
    assert {"id", "name", "version", "params", "input", "output"} <= set(j["candidates"][0])
    r = await gw.call("ov(y=2)", b"q", "text/plain")
    assert r.status == 200 and await r.text() == "Q"


async def test_types_are_checked_per_request_type(gw):
    await problem(await gw.call("json_to_xml | json_to_xml", {"a": "1"}), 422, "type-mismatch")
    j = await problem(
        await gw.call("xml_to_json", b"plain", "text/plain"), 415, "unsupported-input"
    )
    assert j["stage"] == 0 and "application/xml" in j["accepts"]
    # The same deployed application, now with a type it takes.
    r = await gw.call("xml_to_json", b"<a><b>1</b></a>", "application/xml")
    assert r.status == 200 and json.loads(await r.read()) == {"a": {"b": "1"}}


async def test_same_stages_carry_the_request_type_to_the_check(gw):
    await problem(
        await gw.call("logger | validator | JSON -> XML", b"a,b", "text/csv"),
        415,
        "unsupported-input",
    )


async def test_bad_argument_is_invalid_parameter(gw):
    j = await problem(await gw.call("logger(level=LOUD)", {}), 422, "invalid-parameter")
    assert j["parameter"] == "level" and j["reason"]


async def test_validator_rejects_what_its_schema_refuses(gw):
    schema = json.dumps({"type": "object", "required": ["id"]}).replace('"', '\\"')
    r = await gw.call(f'validator(schema="{schema}")', {"name": "x"})
    j = await problem(r, 422, "stage-rejected")
    assert j["service"] == "validator@1.0.0" and j["stage"] == 0


async def test_http_stage_failures(gw, upstream):
    for name, path in (("f", "/fail"), ("rj", "/reject"), ("sl", "/slow?s=3")):
        assert (await gw.adm("POST", "/services", http_entry(name, upstream + path))).status == 201
    j = await problem(await gw.call("f", {}), 502, "stage-failed")
    assert j["service"] == "f@1.0.0" and j["reason"]
    await problem(await gw.call("rj", {}), 422, "stage-rejected")
    j = await problem(await gw.call("validator | sl", {}), 504, "stage-timeout")
    assert j["stage"] == 1 and j["timeout_s"] == 2


async def test_unreachable_http_stage_is_stage_failed(gw):
    e = http_entry("gone", "http://127.0.0.1:9/nothing")
    assert (await gw.adm("POST", "/services", e)).status == 201
    await problem(await gw.call("gone", {}), 502, "stage-failed")


async def test_any_output_refused_at_run_time_is_stage_failed(gw, upstream):
    e = http_entry("acc", upstream + "/csv", out="*/*")
    assert (await gw.adm("POST", "/services", e)).status == 201
    await problem(
        await gw.call("acc | xml_to_json", b"<a/>", "application/xml"), 502, "stage-failed"
    )


async def test_body_over_the_limit_is_413(start_gateway):
    gw = await start_gateway(gateway={"max_body_bytes": 1000})
    j = await problem(
        await gw.call("validator", b"x" * 2000, "text/plain"), 413, "payload-too-large"
    )
    assert j["limit"] == 1000


async def test_concurrent_misses_assemble_once(gw, upstream):
    e = http_entry("once", upstream + "/slow?s=0.3")
    assert (await gw.adm("POST", "/services", e)).status == 201
    results = await asyncio.gather(
        *(gw.call("validator | once", b"x", "text/plain") for _ in range(8))
    )
    assert all(r.status == 200 for r in results)
    caches = sorted(r.headers["Integration-Cache"] for r in results)
    assert caches.count("miss") == 1, caches
    assert set(caches) <= {"miss", "shared", "hit"}
    listed = await gw.adm("GET", "/applications")
    assert len([a for a in (await listed.json())["items"] if "once" in a["canonical"]]) == 1


async def test_a_failed_assembly_is_not_remembered(gw, upstream):
    await problem(await gw.call("later", {}), 404, "service-not-found")
    assert (
        await gw.adm("POST", "/services", http_entry("later", upstream + "/echo"))
    ).status == 201
    r = await gw.call("later", {"a": 1})
    assert r.status == 200 and r.headers["Integration-Cache"] == "miss"


async def test_reserved_prefix_is_not_proxied(gw):
    await problem(await gw.call(None, method="GET", path="/_gateway/nothing"), 404, "not-found")
    r = await gw.call(None, method="GET", path="/_gateway/health")
    assert r.status == 200


async def test_basic_request_is_proxied_by_route(gw):
    r = await gw.call(None, method="GET", path="/legacy/hello?x=1", body=b"")
    assert r.status == 200
    async with gw.http.get(gw.base + "/legacy/hello?x=1") as r:
        assert await r.text() == "hello /hello?x=1"
    await problem(await gw.call(None, method="GET", path="/elsewhere"), 404, "no-route")


async def test_first_refusing_stage_decides_between_415_and_422(gw):
    # Stage 1 can never take stage 0's JSON, but stage 0 already refuses text/plain.
    r = await gw.call("xml_to_json | xml_to_json", b"plain", "text/plain")
    j = await problem(r, 415, "unsupported-input")
    assert j["stage"] == 0
    r = await gw.call("xml_to_json | xml_to_json", b"<a/>", "application/xml")
    j = await problem(r, 422, "type-mismatch")
    assert j["stage"] == 1 and j["produces"] == "application/json"


async def test_stylesheet_reaching_for_a_file_is_stage_rejected(gw):
    sheet = (
        '<xsl:stylesheet version=\\"1.0\\" xmlns:xsl=\\"http://www.w3.org/1999/XSL/Transform\\">'
        '<xsl:include href=\\"file:///etc/passwd\\"/></xsl:stylesheet>'
    )
    r = await gw.call(f'xslt(stylesheet="{sheet}")', b"<a/>", "application/xml")
    j = await problem(r, 422, "stage-rejected")
    assert j["service"] == "xslt@1.0.0" and "another file" in j["reason"]
    r = await gw.call('xslt(stylesheet="<xsl:stylesheet")', b"<a/>", "application/xml")
    assert (await problem(r, 422, "invalid-parameter"))["parameter"] == "stylesheet"


async def test_basic_request_body_over_the_limit_is_413(start_gateway, upstream):
    gw = await start_gateway(upstream, gateway={"max_body_bytes": 1000})

    async def chunks():
        for _ in range(10):
            yield b"x" * 500

    async with gw.http.post(gw.base + "/legacy/echo", data=chunks()) as r:
        j = await problem(Answer(r.status, r.headers, await r.read()), 413, "payload-too-large")
    assert j["limit"] == 1000
    r = await gw.call(None, b"x" * 2000, "text/plain", path="/legacy/echo")
    await problem(r, 413, "payload-too-large")
    r = await gw.call(None, b"x" * 200, "text/plain", path="/legacy/echo")
    assert r.status == 200 and await r.read() == b"x" * 200


async def test_python_stage_that_raises_is_stage_failed_without_a_trace(start_gateway):
    gw = await start_gateway(repository={"python_modules": ["json"]})
    entry = {
        "name": "raiser",
        "kind": "python",
        "target": {"callable": "json:loads"},
        "input": ["*/*"],
        "output": "application/json",
    }
    assert (await gw.adm("POST", "/services", entry)).status == 201
    r = await gw.call("raiser", b"{}", "application/json")
    j = await problem(r, 502, "stage-failed")
    assert j["service"] == "raiser@1.0.0" and j["reason"].startswith("TypeError")


async def test_python_stage_that_cannot_load_is_stage_failed(start_gateway, tmp_path, monkeypatch):
    # Importable when registered, gone by its first use (uninstalled meanwhile, say).
    (tmp_path / "no_such_module.py").write_text("def f(message):\n    return message\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    gw = await start_gateway(repository={"python_modules": ["no_such_*"]})
    entry = {"name": "ghost", "kind": "python", "target": {"callable": "no_such_module:f"}}
    assert (await gw.adm("POST", "/services", entry)).status == 201
    (tmp_path / "no_such_module.py").unlink()
    sys.modules.pop("no_such_module", None)
    importlib.invalidate_caches()
    j = await problem(await gw.call("ghost", {}), 502, "stage-failed")
    assert "no_such_module" in j["reason"]
