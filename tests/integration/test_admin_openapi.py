"""SPEC §5: `GET /openapi.json` describes every route of the admin API, and only those."""

from __future__ import annotations

from aiohttp import web
from openapi_spec_validator import validate

from gateway import console
from gateway.admin import create_admin_app
from tests.conftest import Running


def _answered(app: web.Application) -> set[tuple[str, str]]:
    """The (method, path) of each route of `app`; the HEAD of a GET is not an operation."""
    return {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}


def _console_pages() -> set[tuple[str, str]]:
    app = web.Application()
    console.add_routes(app)
    return _answered(app)


async def _documented(gw: Running) -> set[tuple[str, str]]:
    doc = await (await gw.adm("GET", "/openapi.json")).json()
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


async def test_every_route_the_admin_app_answers_is_documented_and_only_those(gw):
    served = _answered(create_admin_app(gw.gateway))
    pages = _console_pages()
    assert pages and pages <= served
    assert await _documented(gw) == served - pages


async def test_the_console_pages_are_not_documented(gw):
    assert not _console_pages() & await _documented(gw)


async def test_every_documented_operation_is_answered_by_the_running_app(gw):
    nowhere = await gw.adm("GET", "/nowhere")
    assert nowhere.status == 404 and (await nowhere.json())["detail"].startswith("nothing at")
    for method, path in sorted(await _documented(gw)):
        concrete = path.replace("{id}", "nope@1.0.0").replace("{key}", "nope")
        r = await gw.adm(method, concrete)
        # Not the router's own 404 or 405: a handler ran, whatever it made of "nope".
        assert r.status != 405, (method, path)
        if r.status == 404:
            assert not (await r.json())["detail"].startswith("nothing at"), (method, path)


async def test_the_document_is_valid_openapi_3(gw):
    doc = await (await gw.adm("GET", "/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    validate(doc)  # every $ref resolves, every path parameter is declared


async def test_every_operation_answers_problems_as_problem_json(gw):
    doc = await (await gw.adm("GET", "/openapi.json")).json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            default = op["responses"]["default"]
            assert "application/problem+json" in default["content"], (method, path)
            assert op["summary"], (method, path)


async def test_the_document_names_its_bearer_token(gw):
    doc = await (await gw.adm("GET", "/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["token"] == {"type": "http", "scheme": "bearer"}
    assert {"token": []} in doc["security"]
