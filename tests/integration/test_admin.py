"""SPEC §5: the admin API on its own listener."""

from __future__ import annotations

import json

from tests.conftest import http_entry, problem


async def test_builtins_are_registered_at_first_start(gw):
    r = await gw.adm("GET", "/services")
    ids = {e["id"] for e in (await r.json())["items"]}
    assert {
        "logger@1.0.0",
        "validator@1.0.0",
        "json_to_xml@1.0.0",
        "xml_to_json@1.0.0",
        "xml_validator@1.0.0",
        "xslt@1.0.0",
    } <= ids


async def test_register_read_replace_delete(gw, upstream):
    e = http_entry("crud", upstream + "/tag/a")
    r = await gw.adm("POST", "/services", e)
    assert r.status == 201 and (await r.json())["id"] == "crud@1.0.0"
    await problem(await gw.adm("POST", "/services", e), 409, "conflict")
    assert (await (await gw.adm("GET", "/services/crud@1.0.0")).json())["name"] == "crud"
    listed = await (await gw.adm("GET", "/services?name=crud")).json()
    assert [x["id"] for x in listed["items"]] == ["crud@1.0.0"]
    r = await gw.adm("PUT", "/services/crud@1.0.0", http_entry("crud", upstream + "/tag/b"))
    assert r.status == 200
    assert (await (await gw.adm("DELETE", "/services/crud@1.0.0")).read()) == b""
    await problem(await gw.adm("GET", "/services/crud@1.0.0"), 404, "not-found")


async def test_invalid_entry_names_each_field(gw):
    r = await gw.adm("POST", "/services", {"name": "bad name", "kind": "nope", "target": {}})
    j = await problem(r, 422, "invalid-entry")
    assert any(e["field"] == "name" for e in j["errors"])


async def test_changing_a_service_undeploys_its_applications(gw, upstream):
    await gw.adm("POST", "/services", http_entry("chg", upstream + "/tag/a"))
    r = await gw.call("chg", b"", "text/plain")
    key = r.headers["Integration-App"]
    assert (await gw.adm("GET", f"/applications/{key}")).status == 200
    r = await gw.adm("PUT", "/services/chg@1.0.0", http_entry("chg", upstream + "/tag/b"))
    assert r.status == 200
    await problem(await gw.adm("GET", f"/applications/{key}"), 404, "not-found")
    r = await gw.call("chg", b"", "text/plain")
    assert await r.text() == "tag=b" and r.headers["Integration-Cache"] == "miss"


async def test_disabled_service_is_not_resolved(gw, upstream):
    await gw.adm("POST", "/services", http_entry("dis", upstream + "/echo"))
    assert (await gw.call("dis", {})).status == 200
    assert (await gw.adm("POST", "/services/dis@1.0.0/disable")).status == 200
    await problem(await gw.call("dis", {}), 404, "service-not-found")
    assert (await gw.adm("POST", "/services/dis@1.0.0/enable")).status == 200
    assert (await gw.call("dis", {})).status == 200


async def test_resolve_gives_the_plan_and_deploys_nothing(gw):
    r = await gw.adm(
        "POST",
        "/resolve",
        {"header": "validator | JSON -> XML", "content_type": "application/json"},
    )
    plan = await r.json()
    assert r.status == 200, plan
    assert plan["output"].startswith("application/xml")
    assert [s["service"] for s in plan["stages"]] == ["validator@1.0.0", "json_to_xml@1.0.0"]
    assert plan["key"] and plan["canonical"] == "validator | application/json -> application/xml"
    assert (await (await gw.adm("GET", "/applications")).json())["items"] == []
    r = await gw.adm("POST", "/resolve", {"header": "validator | JSON -> XML"})
    assert "application/json" in (await r.json())["input"]
    await problem(await gw.adm("POST", "/resolve", {"header": "nope"}), 404, "service-not-found")


async def test_application_list_shows_and_deletes(gw):
    r = await gw.call("validator", {})
    key = r.headers["Integration-App"]
    await gw.call("validator", {})
    app = await (await gw.adm("GET", f"/applications/{key}")).json()
    assert app["hits"] == 1 and app["in_flight"] == 0 and app["size_bytes"] > 0
    assert app["stages"] == ["validator@1.0.0"] and app["app_server"] == "as0"
    assert app["created"].endswith("Z") and app["last_used"] >= app["created"]
    assert (await gw.adm("DELETE", f"/applications/{key}")).status == 204
    assert (await gw.call("validator", {})).headers["Integration-Cache"] == "miss"


async def test_purge_now_reports_what_went(gw):
    key = (await gw.call("validator", {})).headers["Integration-App"]
    r = await gw.adm("POST", "/purge", {"max_idle_s": 0})
    report = await r.json()
    assert key in report["purged"] and report["remaining"] == 0 and report["freed_bytes"] > 0


async def test_bad_purge_policy_is_invalid_entry(gw):
    j = await problem(
        await gw.adm("PUT", "/purge/policy", {"cron": "every tuesday"}), 422, "invalid-entry"
    )
    assert j["errors"][0]["field"] == "cron"
    r = await gw.adm("PUT", "/purge/policy", {"max_idle_s": 5})
    assert (await r.json())["max_idle_s"] == 5


async def test_metrics_and_openapi(gw):
    await gw.call("validator", {})
    text = await (await gw.adm("GET", "/metrics")).text()
    assert 'igw_requests_total{cache="miss",outcome="ok"} 1.0' in text
    assert "igw_applications" in text
    doc = await (await gw.adm("GET", "/openapi.json")).json()
    assert doc["openapi"].startswith("3.") and "/services/{id}" in doc["paths"]


async def test_token_is_required_when_set(start_gateway, monkeypatch):
    monkeypatch.setenv("IGW_ADMIN_TOKEN", "s3cret")
    gw = await start_gateway()
    await problem(await gw.adm("GET", "/services"), 401, "invalid-credentials")
    r = await gw.adm("GET", "/services", headers={"Authorization": "Bearer s3cret"})
    assert r.status == 200


async def test_services_survive_a_restart(start_gateway, upstream, tmp_path):
    first = await start_gateway(upstream, work=tmp_path)
    await first.adm("POST", "/services", http_entry("kept", upstream + "/echo"))
    await first.adm("DELETE", "/services/xslt@1.0.0")
    await first.gateway.stop()
    second = await start_gateway(upstream, work=tmp_path)
    ids = {e["id"] for e in (await (await second.adm("GET", "/services")).json())["items"]}
    assert "kept@1.0.0" in ids and "xslt@1.0.0" not in ids


async def test_without_a_token_only_loopback_hosts_are_answered(gw):
    # A page whose name was rebound to 127.0.0.1 still sends its own Host.
    await problem(
        await gw.adm("GET", "/services", headers={"Host": "evil.example:8081"}), 400, "bad-request"
    )
    for host in ("localhost:8081", "127.0.0.1", "[::1]:8081"):
        assert (await gw.adm("GET", "/services", headers={"Host": host})).status == 200


async def test_service_files_are_read_at_start_and_on_reload(start_gateway, upstream, tmp_path):
    services = tmp_path / "services"
    services.mkdir()
    (services / "a.json").write_text(json.dumps(http_entry("filed", upstream + "/echo")))
    gw = await start_gateway(upstream, repository={"service_dirs": ["services"]})
    assert (await gw.call("filed", {"a": 1})).status == 200
    (services / "b.json").write_text(json.dumps([http_entry("filed2", upstream + "/upper")]))
    (services / "a.json").unlink()
    changes = await (await gw.adm("POST", "/services:reload")).json()
    assert changes["added"] == ["filed2@1.0.0"] and changes["removed"] == ["filed@1.0.0"]
    await problem(await gw.call("filed", {}), 404, "service-not-found")
    (services / "c.json").write_text("{not json")
    await problem(await gw.adm("POST", "/services:reload"), 422, "invalid-entry")
    assert (await gw.call("filed2", b"x", "text/plain")).status == 200


async def test_services_filtered_by_input_and_output(gw):
    r = await gw.adm("GET", "/services?input=application/xml&output=application/json")
    assert [e["id"] for e in (await r.json())["items"]] == ["xml_to_json@1.0.0"]


async def test_auto_convert_inserts_a_converter_stage(start_gateway):
    gw = await start_gateway(assembler={"auto_convert": True})
    r = await gw.call("xml_to_json | xml_to_json", b"<a><b>1</b></a>", "application/xml")
    assert r.status == 200, await r.text()
    assert r.headers["Server-Timing"].count("dur=") == 3
    app = await (await gw.adm("GET", f"/applications/{r.headers['Integration-App']}")).json()
    assert app["stages"] == ["xml_to_json@1.0.0", "json_to_xml@1.0.0", "xml_to_json@1.0.0"]
