"""The OpenAPI document (gateway/admin/schemas.py), built from a route table."""

from __future__ import annotations

import pytest
from aiohttp import web
from openapi_spec_validator import validate

from gateway.admin import ROUTES
from gateway.admin.routing import DONE, Route, Success, items_of, ref
from gateway.admin.schemas import PROBLEM, document


async def _ok(request: web.Request) -> web.Response:
    return web.Response()


TABLE = (
    Route(
        "GET",
        "/things",
        _ok,
        "List things",
        (Success(200, "Things", items_of("Plan")),),
        query=("name",),
    ),
    Route("PUT", "/things/{id}", _ok, "Replace one", (DONE,), body="ResolveRequest"),
    Route("GET", "/text", _ok, "Text", (Success(200, "Text", {"type": "string"}, "text/plain"),)),
)


def test_each_route_is_one_operation_of_its_path():
    paths = document(TABLE)["paths"]
    assert {p: set(ops) for p, ops in paths.items()} == {
        "/things": {"get"},
        "/things/{id}": {"put"},
        "/text": {"get"},
    }
    assert paths["/things"]["get"]["summary"] == "List things"


def test_path_parameters_are_required_and_query_parameters_are_not():
    paths = document(TABLE)["paths"]
    assert paths["/things/{id}"]["put"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    assert paths["/things"]["get"]["parameters"] == [
        {"name": "name", "in": "query", "required": False, "schema": {"type": "string"}}
    ]
    assert "parameters" not in paths["/text"]["get"]


def test_responses_carry_their_content_type_and_a_default_problem():
    paths = document(TABLE)["paths"]
    text = paths["/text"]["get"]["responses"]
    assert text["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert text["default"] == PROBLEM
    assert paths["/things/{id}"]["put"]["responses"]["204"] == {"description": "Done"}


def test_a_request_body_is_a_required_json_component():
    put = document(TABLE)["paths"]["/things/{id}"]["put"]
    assert put["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": ref("ResolveRequest")}},
    }
    assert "requestBody" not in document(TABLE)["paths"]["/things"]["get"]


def test_a_route_twice_in_the_table_is_refused():
    with pytest.raises(ValueError, match="twice"):
        document((*TABLE, TABLE[0]))


def test_editing_one_document_leaves_the_next_alone():
    first = document(ROUTES)
    first["components"]["schemas"]["Problem"]["required"].clear()
    first["paths"]["/services"]["get"]["responses"]["200"]["content"].clear()
    first["paths"]["/services"]["get"]["responses"]["default"].clear()
    second = document(ROUTES)
    assert second["paths"]["/services"]["get"]["responses"]["default"] == PROBLEM
    assert second["components"]["schemas"]["Problem"]["required"]
    assert second["paths"]["/services"]["get"]["responses"]["200"]["content"]


def test_the_admin_document_is_valid_openapi():
    validate(document(ROUTES))
