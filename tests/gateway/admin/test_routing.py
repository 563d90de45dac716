"""The admin route table (gateway/admin/routing.py): routes as data, put on a router."""

from __future__ import annotations

import pytest
from aiohttp import web

from gateway.admin import ROUTES
from gateway.admin.routing import DONE, TABLE, Route, Success, add_routes


async def _ok(request: web.Request) -> web.Response:
    return web.Response()


def test_path_parameters_come_from_the_path():
    route = Route("POST", "/services/{id}/disable", _ok, "Disable", (DONE,))
    assert route.path_params == ("id",)
    assert Route("GET", "/a/{x}/b/{y:\\d+}", _ok, "Two", (DONE,)).path_params == ("x", "y")
    assert Route("POST", "/services:reload", _ok, "Reload", (DONE,)).path_params == ()


@pytest.mark.parametrize(
    ("method", "path", "responses"),
    [("get", "/a", (DONE,)), ("GET", "a", (DONE,)), ("GET", "/a", ())],
)
def test_a_route_that_cannot_be_served_or_described_is_refused(method, path, responses):
    with pytest.raises(ValueError):
        Route(method, path, _ok, "Bad", responses)


def test_a_failure_is_not_a_success():
    with pytest.raises(ValueError):
        Success(404, "Not found")


def test_a_get_route_answers_head_and_the_app_keeps_the_table():
    app = web.Application()
    table = (Route("GET", "/a", _ok, "A", (DONE,)), Route("PUT", "/a", _ok, "A", (DONE,)))
    add_routes(app, table)
    assert {(r.method, r.resource.canonical) for r in app.router.routes()} == {
        ("GET", "/a"),
        ("HEAD", "/a"),
        ("PUT", "/a"),
    }
    assert app[TABLE] == table


def test_the_admin_table_has_each_method_and_path_once():
    pairs = [(r.method, r.path) for r in ROUTES]
    assert len(pairs) == len(set(pairs))
