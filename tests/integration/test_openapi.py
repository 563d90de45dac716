"""OpenAPI import through the whole gateway (SPEC §5, seed 003): a real HTTP server on
loopback that serves its own OpenAPI documents and implements them, imported by URL
and as documents, its operations called through pipes, refreshed when it changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.conftest import problem

CORPUS = Path(__file__).parents[3] / "shared" / "corpus"

# OpenAPI 3.0, as real documents are: a relative server, 3.0's nullable and boolean
# exclusiveMinimum, a path-level parameter an operation overrides, names that are not
# idents, every place a parameter goes, $refs to components.
SHOP_30 = {
    "openapi": "3.0.3",
    "info": {"title": "Corner Shop API", "version": "2.1 beta"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/orders/{order-id}": {
            "parameters": [
                {"name": "order-id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
            ],
            "get": {
                "operationId": "getOrder",
                "summary": "One order",
                "parameters": [
                    {"$ref": "#/components/parameters/Top"},
                    {"name": "page[size]", "in": "query", "schema": {"type": "integer",
                     "minimum": 0, "exclusiveMinimum": True, "default": 10}},
                    {"name": "X-Tenant", "in": "header", "description": "whose shop",
                     "schema": {"type": "string", "enum": ["north", "south"]}},
                    {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean",
                     "nullable": True}},
                    {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}},
            },
            "delete": {
                "operationId": "deleteOrder",
                "responses": {"204": {"description": "gone"}},
            },
        },
        "/orders": {
            "post": {
                "operationId": "createOrder",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Order"}},
                    "application/xml": {"schema": {"type": "object"}}}},
                "responses": {"201": {"description": "made", "content": {
                    "application/json": {"schema": {"type": "object"}}}}},
            },
        },
        "/fail/{code}": {
            "get": {
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "never"}},
            },
        },
        "/slow": {"get": {"operationId": "slow", "responses": {"200": {"description": "late"}}}},
        "/elsewhere": {"get": {"operationId": "elsewhere",
                               "servers": [{"url": "https://other.example.com/v2"}],
                               "responses": {"200": {"description": "ok"}}}},
    },
    "components": {
        "parameters": {"Top": {"name": "$top", "in": "query", "schema": {"type": "integer"}}},
        "schemas": {
            "Order": {"type": "object", "properties": {
                "id": {"type": "integer"}, "note": {"type": "string", "nullable": True},
                "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}}},
        },
    },
}  # fmt: skip

# OpenAPI 3.1 in JSON, with server variables, a webhook, an operation without an
# operationId and a schema in another document of the same origin.
SHOP_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Corner Shop API", "version": "3.0.0"},
    "servers": [{"url": "{scheme}://127.0.0.1:{port}/api",
                 "variables": {"scheme": {"default": "http"}, "port": {"default": "PORT"}}}],
    "webhooks": {"orderMade": {"post": {"responses": {"200": {"description": "ok"}}}}},
    "paths": {
        "/stock/{sku}": {
            "get": {
                "parameters": [{"name": "sku", "in": "path", "required": True,
                                "schema": {"$ref": "schemas.yaml#/Sku"}}],
                "responses": {"200": {"description": "ok",
                                      "content": {"application/json": {}}}},
            },
        },
    },
}  # fmt: skip
SCHEMAS = {"Sku": {"type": "string", "pattern": "^[A-Z]-[0-9]+$"}}


@dataclass
class Shop:
    base: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """The shop: its documents at /openapi.yaml, /openapi31.json, /schemas.yaml, and the
    API they describe under /api, noting each request it gets."""
    app = web.Application()
    state: dict[str, Shop] = {}

    async def document(request: web.Request) -> web.Response:
        text = state["shop"].documents.get(request.match_info["name"])
        if text is None:
            raise web.HTTPNotFound()
        return web.Response(text=text, content_type="application/yaml")

    async def api(request: web.Request) -> web.Response:
        body = await request.read()
        seen = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "cookies": dict(request.cookies),
            "body": body.decode(),
        }
        state["shop"].seen.append(seen)
        tail = request.match_info["tail"]
        if tail.startswith("fail/"):
            code = int(tail.split("/")[1])
            if code in (301, 302):
                raise web.HTTPFound("http://elsewhere.invalid/")
            return web.Response(status=code, text=f"failed with {code}")
        if tail == "slow":
            await asyncio.sleep(10)
        if request.method == "DELETE":
            return web.Response(status=204)
        return web.json_response(seen, status=201 if request.method == "POST" else 200)

    app.router.add_get("/{name:[^/]+\\.(?:yaml|json)}", document)
    app.router.add_route("*", "/api/{tail:.*}", api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    shop = Shop(base=f"http://127.0.0.1:{port}")
    state["shop"] = shop
    shop.documents["openapi.yaml"] = yaml.safe_dump(SHOP_30)
    spec31 = json.loads(json.dumps(SHOP_31).replace("PORT", str(port)))
    shop.documents["openapi31.json"] = json.dumps(spec31)
    shop.documents["schemas.yaml"] = yaml.safe_dump(SCHEMAS)
    yield shop
    await runner.cleanup()


async def imported(gw, **body) -> dict[str, Any]:
    r = await gw.adm("POST", "/imports", {"kind": "openapi", **body})
    assert r.status == 201, await r.text()
    return await r.json()


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in result["items"]}


async def test_a_url_import_makes_one_entry_an_operation(gw, shop):
    result = await imported(gw, url=f"{shop.base}/openapi.yaml")
    entries = by_name(result)
    assert set(entries) == {
        "corner_shop_api.getOrder",
        "corner_shop_api.deleteOrder",
        "corner_shop_api.createOrder",
        "corner_shop_api.get_fail_code",
        "corner_shop_api.slow",
        "corner_shop_api.elsewhere",
    }
    assert entries["corner_shop_api.elsewhere"]["target"]["url"] == (
        "https://other.example.com/v2/elsewhere"
    )  # an operation's own servers
    get = entries["corner_shop_api.getOrder"]
    assert get["version"] == "2.1-beta" and get["enabled"]
    assert get["target"] == {
        "url": f"{shop.base}/api/orders/{{order-id}}",
        "method": "GET",
        "body": False,
    }
    params = get["params"]
    assert params["order-id"] == {"type": "integer", "in": "path"}
    assert params["_top"] == {
        "type": "integer",
        "in": "query",
        "wire_name": "$top",
        "default": None,
    }
    assert params["page_size_"]["wire_name"] == "page[size]"
    assert params["page_size_"]["exclusiveMinimum"] == 0 and "minimum" not in params["page_size_"]
    assert params["X-Tenant"]["enum"] == ["north", "south"]
    assert params["X-Tenant"]["description"] == "whose shop"
    assert params["session"]["in"] == "cookie"
    assert params["verbose"]["type"] == ["boolean", "null"]  # the operation's, 3.0 nullable
    assert "Accept" not in params
    assert get["output"] == "application/json"
    create = entries["corner_shop_api.createOrder"]
    assert create["input"] == ["application/json", "application/xml"]
    assert "body" not in create["target"] and create["output"] == "application/json"
    assert entries["corner_shop_api.deleteOrder"]["output"] == "*/*"  # a 204
    assert isinstance(result["warnings"], list)


async def test_calling_imported_operations_places_every_argument(gw, shop):
    await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    r = await gw.call(
        "shop.getOrder(order-id=7, _top=3, X-Tenant=north, session=s1)", b"", ctype="text/plain"
    )
    assert r.status == 200, await r.text()
    (seen,) = shop.seen
    assert seen["method"] == "GET" and seen["path"] == "/api/orders/7"
    assert seen["query"] == {"$top": "3", "page[size]": "10"}  # optional ones unsent
    assert seen["headers"]["x-tenant"] == "north" and seen["cookies"] == {"session": "s1"}
    assert seen["body"] == ""
    made = await gw.call("shop.createOrder", {"id": 1})
    assert made.status == 200, await made.text()
    assert shop.seen[-1]["body"] == '{"id": 1}' and shop.seen[-1]["method"] == "POST"
    assert made.headers["Content-Type"].startswith("application/json")


async def test_arguments_are_checked_before_anything_is_sent(gw, shop):
    await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    j = await problem(
        await gw.call("shop.getOrder(order-id=7, X-Tenant=east)", b""), 422, "invalid-parameter"
    )
    assert j["parameter"] == "X-Tenant"
    j = await problem(
        await gw.call("shop.getOrder(order-id=7, page_size_=0)", b""), 422, "invalid-parameter"
    )
    assert j["parameter"] == "page_size_"  # exclusiveMinimum, as 3.0 meant it
    await problem(await gw.call("shop.getOrder", b""), 404, "service-not-found")  # order-id
    assert shop.seen == []


async def test_answers_other_than_2xx_are_as_spec_says(gw, shop):
    await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    j = await problem(await gw.call("shop.get_fail_code(code=404)", b""), 422, "stage-rejected")
    assert "404" in j["reason"]
    await problem(await gw.call("shop.get_fail_code(code=503)", b""), 502, "stage-failed")
    j = await problem(await gw.call("shop.get_fail_code(code=302)", b""), 502, "stage-failed")
    assert "redirect" in j["reason"]
    j = await problem(await gw.call("shop.slow", b""), 504, "stage-timeout")


async def test_a_31_document_with_references_into_another_document(gw, shop):
    result = await imported(gw, url=f"{shop.base}/openapi31.json")
    (entry,) = result["items"]  # the webhook is not imported
    assert entry["name"] == "corner_shop_api.get_stock_sku" and entry["version"] == "3.0.0"
    assert entry["params"]["sku"]["pattern"] == "^[A-Z]-[0-9]+$"
    assert entry["target"]["url"] == f"{shop.base}/api/stock/{{sku}}"
    j = await problem(await gw.call("corner_shop_api.get_stock_sku(sku=x1)", b""), 422,
                      "invalid-parameter")  # fmt: skip
    assert j["parameter"] == "sku"
    assert (await gw.call("corner_shop_api.get_stock_sku(sku=A-1)", b"")).status == 200


async def test_a_document_refers_only_to_the_documents_given(gw, shop):
    text = shop.documents["openapi31.json"]
    result = await imported(
        gw, document=text, base_url=f"{shop.base}/openapi31.json",
        documents={"schemas.yaml": shop.documents["schemas.yaml"]},
    )  # fmt: skip
    assert result["items"][0]["params"]["sku"]["pattern"] == "^[A-Z]-[0-9]+$"
    r = await gw.adm("POST", "/imports", {"kind": "openapi", "document": text, "prefix": "p2",
                                         "base_url": f"{shop.base}/openapi31.json"})  # fmt: skip
    j = await problem(r, 422, "invalid-entry")
    assert "schemas.yaml" in j["errors"][0]["reason"]
    local = text.replace("schemas.yaml#/Sku", "file:///etc/passwd#/x")
    r = await gw.adm("POST", "/imports", {"kind": "openapi", "document": local, "prefix": "p3"})
    j = await problem(r, 422, "invalid-entry")
    assert "file:" in j["errors"][0]["reason"]


async def test_no_servers_imports_disabled_until_a_server_url_is_given(gw, shop):
    spec = {**SHOP_30, "servers": []}
    text = yaml.safe_dump(spec)
    result = await imported(gw, document=text, prefix="noserver")
    enabled = {e["name"] for e in result["items"] if e["enabled"]}
    assert enabled == {"noserver.elsewhere"}  # only the operation with servers of its own
    assert any("servers" in w for w in result["warnings"])
    result = await imported(gw, document=text, prefix="withserver", server_url=f"{shop.base}/api")
    assert all(e["enabled"] for e in result["items"])
    r = await gw.call("withserver.getOrder(order-id=1)", b"")
    assert r.status == 200, await r.text()


async def test_the_same_source_twice_is_one_import(gw, shop):
    first = await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    again = await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    assert first["id"] == again["id"]
    assert (
        len([e for e in (await (await gw.adm("GET", "/services?name=shop.slow")).json())["items"]])
        == 1
    )


async def test_a_refresh_reports_and_undeploys_what_changed(gw, shop):
    result = await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    assert (await gw.call("shop.slow | validator", b"", ctype="application/json")).status in (
        200,
        504,
    )
    ok = await gw.call("shop.deleteOrder(order-id=1)", b"")
    assert ok.status == 200
    changed = json.loads(json.dumps(SHOP_30))
    del changed["paths"]["/slow"]
    changed["paths"]["/orders/{order-id}"]["delete"]["summary"] = "now documented"
    changed["paths"]["/new"] = {"get": {"operationId": "fresh", "responses": {"200": {
        "description": "ok"}}}}  # fmt: skip
    shop.documents["openapi.yaml"] = yaml.safe_dump(changed)
    r = await gw.adm("POST", f"/imports/{result['id']}/refresh")
    assert r.status == 200, await r.text()
    report = await r.json()
    assert report["added"] == ["shop.fresh@2.1-beta"]
    assert report["removed"] == ["shop.slow@2.1-beta"]
    assert report["changed"] == ["shop.deleteOrder@2.1-beta"]
    assert gw.gateway.applications.get(ok.headers["Integration-App"]) is None


async def test_an_imports_record_keeps_its_options(gw, shop):
    result = await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop",
                            server_url=f"{shop.base}/api", connection="none")  # fmt: skip
    record = await (await gw.adm("GET", f"/imports/{result['id']}")).json()
    assert record["kind"] == "openapi" and record["server_url"] == f"{shop.base}/api"
    assert record["connection"] == "none"
    assert all(e["target"]["connection"] == "none" for e in result["items"])


@pytest.mark.parametrize("name", ["petstore.yaml", "petstore-expanded.yaml",
                                  "api-with-examples.yaml"])  # fmt: skip
async def test_the_corpus_imports(gw, name):
    result = await imported(gw, document=(CORPUS / name).read_text(), prefix=name.split(".")[0])
    assert result["items"]
    assert all(e["kind"] == "http" for e in result["items"])


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "http://x/", "documents": {"/etc/passwd": "x"}}, "documents//etc/passwd"),
        ({"url": "http://x/", "documents": {"http://h/a": "x"}}, "documents/http://h/a"),
        ({"url": "http://x/", "refresh_s": -1}, "refresh_s"),
        ({"document": "not: [openapi"}, "document"),
        ({"document": "openapi: 2.0\n"}, "document"),
        ({"document": yaml.safe_dump({"openapi": "3.0.0", "paths": {}})}, "paths"),
    ],
)
async def test_an_import_that_cannot_make_entries_is_422(gw, body, field):
    j = await problem(await gw.adm("POST", "/imports", {"kind": "openapi", **body}), 422,
                      "invalid-entry")  # fmt: skip
    assert j["errors"][0]["field"] == field, j


async def test_refresh_s_re_reads_the_source_on_its_own(gw, shop):
    await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop", refresh_s=1)
    changed = json.loads(json.dumps(SHOP_30))
    changed["paths"]["/new"] = {"get": {"operationId": "fresh", "responses": {"200": {
        "description": "ok"}}}}  # fmt: skip
    shop.documents["openapi.yaml"] = yaml.safe_dump(changed)
    for _ in range(50):
        found = await (await gw.adm("GET", "/services?name=shop.fresh")).json()
        if found["items"]:
            break
        await asyncio.sleep(0.1)
    assert found["items"], "the import was not refreshed on its schedule"


async def test_a_restart_needs_no_remote_host(start_gateway, shop, tmp_path):
    first = await start_gateway(work=tmp_path)
    result = await imported(first, url=f"{shop.base}/openapi.yaml", prefix="shop")
    record = await (await first.adm("GET", f"/imports/{result['id']}")).json()
    assert record["url"] == f"{shop.base}/openapi.yaml"
    await first.gateway.stop()
    shop.documents.clear()  # the host no longer serves the document
    second = await start_gateway(work=tmp_path)
    assert (await second.call("shop.getOrder(order-id=2)", b"")).status == 200
    r = await second.adm("POST", f"/imports/{result['id']}/refresh")
    j = await problem(r, 422, "invalid-entry")
    assert "404" in j["detail"]
    assert (await second.call("shop.getOrder(order-id=3)", b"")).status == 200  # kept


async def test_operations_and_their_parameters_are_documented_in_the_console(gw, shop):
    await imported(gw, url=f"{shop.base}/openapi.yaml", prefix="shop")
    page = await (await gw.adm("GET", "/ui")).text()
    assert "One order" in page
    assert "<code>X-Tenant</code> (header): whose shop" in page


async def test_a_document_of_aliases_of_aliases_is_refused_not_expanded(gw):
    lines = ["openapi: 3.0.0", "info: {title: bomb, version: '1'}", "x0: &a0 [lol, lol]"]
    for i in range(1, 30):
        lines.append(f"x{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]")
    lines.append("paths: {}")
    r = await gw.adm("POST", "/imports", {"kind": "openapi", "document": "\n".join(lines)})
    j = await problem(r, 422, "invalid-entry")
    assert "aliases" in j["errors"][0]["reason"]


async def test_a_source_by_url_and_as_a_document_with_that_base_url_is_one_import(gw, shop):
    url = f"{shop.base}/openapi.yaml"
    by_url = await imported(gw, url=url, prefix="shop")
    as_document = await imported(gw, document=shop.documents["openapi.yaml"], base_url=url,
                                 prefix="shop")  # fmt: skip
    assert by_url["id"] == as_document["id"]
    assert len((await (await gw.adm("GET", "/imports")).json())["items"]) == 1
