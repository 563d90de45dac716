"""The `http` kind against real upstream servers on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from appserver.connections import Connection
from appserver.kinds.base import DeployEnv
from appserver.kinds.http import HttpKind, HttpStage
from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError, StageError
from repository.entry import ServiceEntry

KIND = HttpKind()
REQUEST = RequestContext(request_id="req-1")


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(body=body, headers={"Content-Type": request.headers["Content-Type"]})


async def upper(request: web.Request) -> web.Response:
    return web.Response(text=(await request.text()).upper())


async def tag(request: web.Request) -> web.Response:
    x = request.match_info["x"]
    return web.Response(text=f"<{x}>{await request.text()}</{x}>", content_type="text/xml")


async def inspect(request: web.Request) -> web.Response:
    """What arrived: the raw path and query, the headers, cookies and the body."""
    body = await request.read()
    response = web.json_response(
        {
            "method": request.method,
            "raw_path": request.rel_url.raw_path,
            "query": dict(request.query),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "cookies": dict(request.cookies),
            "body": body.decode(),
            "body_exists": request.body_exists,
        }
    )
    response.set_cookie("session", "from-upstream")  # which a stage must not keep
    return response


async def fail(request: web.Request) -> web.Response:
    return web.Response(status=500, text="database down")


async def reject(request: web.Request) -> web.Response:
    return web.Response(status=400, text="x" * 300)


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text="late")


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("http://elsewhere.invalid/")


async def big(request: web.Request) -> web.Response:
    return web.Response(body=b"z" * 5000)


async def close_abruptly(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.abort()
    await asyncio.sleep(1)
    return web.Response(text="never sent")


@pytest.fixture
async def upstream(aiohttp_server: Callable[..., Any]) -> TestServer:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/echo", echo)
    app.router.add_post("/upper", upper)
    app.router.add_post("/tag/{x}", tag)
    app.router.add_route("*", "/inspect/{rest:.*}", inspect)
    app.router.add_post("/fail", fail)
    app.router.add_post("/reject", reject)
    app.router.add_post("/slow", slow)
    app.router.add_post("/redirect", redirect)
    app.router.add_post("/big", big)
    app.router.add_post("/close", close_abruptly)
    return await aiohttp_server(app)


@pytest.fixture
def env() -> DeployEnv:
    return DeployEnv()


@pytest.fixture
async def stages() -> AsyncIterator[list[HttpStage]]:
    """Deployed stages, closed after the test."""
    deployed: list[HttpStage] = []
    yield deployed
    for stage in deployed:
        await stage.close()


def entry(url: str, *, params: Mapping[str, Any] | None = None, **target: Any) -> ServiceEntry:
    output = target.pop("output", "same")
    return ServiceEntry(
        name="svc",
        kind="http",
        target={"url": url, **target},
        params=params or {},
        input=("*/*",),
        output=output,
    )


async def deploy(
    stages: list[HttpStage], e: ServiceEntry, env: DeployEnv, **args: Any
) -> HttpStage:
    stage = await KIND.deploy(e, args, env)
    stages.append(stage)
    return stage


async def answer(stage: HttpStage, message: Message, request: RequestContext = REQUEST) -> Any:
    out = await stage.invoke(message, request)
    return json.loads(out.body)


def at(server: TestServer, path: str) -> str:
    """A URL on `server`, placeholders left as they are."""
    return f"http://{server.host}:{server.port}{path}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_posts_input_and_outputs_answer_with_its_content_type(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/echo")), env)
    out = await stage.invoke(Message(b'{"a": 1}', "application/json"), REQUEST)
    assert out == Message(b'{"a": 1}', "application/json")


async def test_large_input_goes_through_whole(upstream, env, stages):
    body = bytes(range(256)) * 8192  # 2 MiB
    stage = await deploy(stages, entry(at(upstream, "/echo")), env)
    out = await stage.invoke(Message(body, "application/octet-stream"), REQUEST)
    assert out.body == body


async def test_declared_output_overrides_answer_type(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/upper"), output="JSON"), env)
    out = await stage.invoke(Message(b'"abc"', "application/json"), REQUEST)
    assert out == Message(b'"ABC"', "application/json")


async def test_output_any_takes_answer_type(upstream, env, stages):
    stage = await deploy(
        stages,
        entry(at(upstream, "/tag/{x}"), output="*/*", params={"x": {"type": "string"}}),
        env,
        x="b",
    )
    out = await stage.invoke(Message(b"hi", "text/plain"), REQUEST)
    assert out.body == b"<b>hi</b>"
    assert out.media_type == "application/xml"


async def test_params_go_where_their_schema_says(upstream, env, stages):
    params = {
        "id": {"type": "string"},  # a placeholder: path
        "q": {"type": "string"},  # no placeholder: query
        "flag": {"type": "boolean", "in": "query"},
        "filter": {"type": "object", "in": "query", "wire_name": "filter[]"},
        "trace_id": {"type": "integer", "in": "header", "wire_name": "X-Trace"},
        "session": {"type": "string", "in": "cookie", "wire_name": "SESSION"},
        "unset": {"type": ["string", "null"], "default": None},
    }
    url = at(upstream, "/inspect/items/{id}?fixed=1")
    stage = await deploy(
        stages,
        entry(url, params=params, method="GET"),
        env,
        id="a/b c",
        q="x&y",
        flag=True,
        filter={"k": [1, 2]},
        trace_id=42,
        session="s; 1",
    )
    seen = await answer(stage, Message(b""))
    assert seen["raw_path"] == "/inspect/items/a%2Fb%20c"
    assert seen["query"] == {"fixed": "1", "q": "x&y", "flag": "true", "filter[]": '{"k":[1,2]}'}
    assert seen["headers"]["x-trace"] == "42"
    assert seen["cookies"] == {"SESSION": "s%3B%201"}
    assert "unset" not in seen["query"]


async def test_placeholder_matches_wire_name(upstream, env, stages):
    params = {"pet_id": {"type": "integer", "wire_name": "pet-id"}}
    url = at(upstream, "/inspect/pets/{pet-id}")
    stage = await deploy(stages, entry(url, params=params), env, pet_id=7)
    assert (await answer(stage, Message(b"")))["raw_path"] == "/inspect/pets/7"


async def test_schema_default_fills_a_missing_argument(upstream, env, stages):
    params = {"level": {"type": "string", "default": "INFO"}}
    stage = await deploy(stages, entry(at(upstream, "/inspect/x"), params=params), env)
    assert (await answer(stage, Message(b"")))["query"] == {"level": "INFO"}


async def test_connection_headers_come_from_the_environment(upstream, stages, monkeypatch):
    monkeypatch.setenv("IGW_TEST_TOKEN", "s3cret")
    connections = {"crm": Connection(headers=(("X-Tenant", "acme"),), bearer_env="IGW_TEST_TOKEN")}
    env = DeployEnv(connections=connections)
    e = entry(at(upstream, "/inspect/x"), connection="crm")
    seen = await answer(await deploy(stages, e, env), Message(b""))
    assert seen["headers"]["authorization"] == "Bearer s3cret"
    assert seen["headers"]["x-tenant"] == "acme"


async def test_connection_headers_win_over_parameters(upstream, stages, monkeypatch):
    monkeypatch.setenv("IGW_TEST_TOKEN", "s3cret")
    env = DeployEnv(connections={"crm": Connection(bearer_env="IGW_TEST_TOKEN")})
    params = {"auth": {"type": "string", "in": "header", "wire_name": "Authorization"}}
    e = entry(at(upstream, "/inspect/x"), connection="crm", params=params)
    seen = await answer(await deploy(stages, e, env, auth="Bearer forged"), Message(b""))
    assert seen["headers"]["authorization"] == "Bearer s3cret"


async def test_unconfigured_connection_fails_deploy(upstream, env):
    e = entry(at(upstream, "/echo"), connection="nowhere")
    with pytest.raises(StageError, match="'nowhere'") as info:
        await KIND.deploy(e, {}, env)
    assert not info.value.rejected


async def test_traceparent_and_request_id_are_passed_on(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/inspect/x")), env)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    request = RequestContext(request_id="req-42", traceparent=traceparent)
    seen = await answer(stage, Message(b"body", "text/plain"), request)
    assert seen["headers"]["traceparent"] == traceparent
    assert seen["headers"]["x-request-id"] == "req-42"
    assert seen["headers"]["content-type"] == "text/plain"
    assert seen["body"] == "body"


async def test_get_with_empty_input_sends_no_body(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/inspect/x"), method="GET"), env)
    seen = await answer(stage, Message(b"", "application/json"))
    assert seen["method"] == "GET"
    assert not seen["body_exists"]
    assert "content-type" not in seen["headers"]
    assert "transfer-encoding" not in seen["headers"]


async def test_upstream_4xx_rejects_with_an_excerpt(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/reject")), env)
    with pytest.raises(StageError) as info:
        await stage.invoke(Message(b"x"), REQUEST)
    assert info.value.rejected
    assert info.value.reason == "upstream answered 400: " + "x" * 200


async def test_upstream_5xx_fails(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/fail")), env)
    with pytest.raises(StageError) as info:
        await stage.invoke(Message(b"x"), REQUEST)
    assert not info.value.rejected
    assert info.value.reason == "upstream answered 500: database down"


async def test_refused_connection_fails(env, stages):
    stage = await deploy(stages, entry(f"http://127.0.0.1:{closed_port()}/x"), env)
    with pytest.raises(StageError, match="cannot connect") as info:
        await stage.invoke(Message(b"x"), REQUEST)
    assert not info.value.rejected


async def test_connection_closed_without_answer_fails(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/close")), env)
    with pytest.raises(StageError) as info:
        await stage.invoke(Message(b"x"), REQUEST)
    assert not info.value.rejected


async def test_invalid_answer_fails(env, stages):
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        stage = await deploy(stages, entry(f"http://127.0.0.1:{port}/x", method="GET"), env)
        with pytest.raises(StageError) as info:
            await stage.invoke(Message(b""), REQUEST)
        assert not info.value.rejected
    finally:
        server.close()
        await server.wait_closed()


async def test_redirect_is_not_followed(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/redirect")), env)
    with pytest.raises(StageError, match=r"302.*elsewhere\.invalid") as info:
        await stage.invoke(Message(b"x"), REQUEST)
    assert not info.value.rejected


async def test_answer_over_the_body_limit_fails(upstream, stages):
    env = DeployEnv(max_body_bytes=4096)
    stage = await deploy(stages, entry(at(upstream, "/big")), env)
    with pytest.raises(StageError, match="over 4096 bytes"):
        await stage.invoke(Message(b"x"), REQUEST)


async def test_cookies_set_by_upstream_are_not_kept(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/inspect/x")), env)
    await stage.invoke(Message(b"x"), REQUEST)  # answered with Set-Cookie
    assert (await answer(stage, Message(b"x")))["cookies"] == {}


async def test_slow_upstream_is_left_to_the_app_servers_timeout(upstream, env, stages):
    stage = await deploy(stages, entry(at(upstream, "/slow")), env)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stage.invoke(Message(b"x"), REQUEST), 0.2)
    # The stage stays usable after a cancelled call.
    echo_stage = await deploy(stages, entry(at(upstream, "/echo")), env)
    assert (await echo_stage.invoke(Message(b"ok", "text/plain"), REQUEST)).body == b"ok"


async def test_close_closes_the_session(upstream, env):
    stage = await KIND.deploy(entry(at(upstream, "/echo")), {}, env)
    await stage.close()
    assert stage.closed
    with pytest.raises(StageError, match="closed"):
        await stage.invoke(Message(b"x"), REQUEST)


async def test_size_counts_session_and_request_parts(upstream, env, stages):
    short = await deploy(stages, entry(at(upstream, "/echo")), env)
    long_url = at(upstream, "/echo?pad=") + "p" * 10_000
    longer = await deploy(stages, entry(long_url), env)
    assert short.size_bytes() > 8 * 1024
    assert longer.size_bytes() > short.size_bytes() + 10_000


async def test_unfilled_placeholder_fails_deploy(env):
    with pytest.raises(StageError, match=r"\{id\}"):
        await KIND.deploy(entry("http://127.0.0.1:1/items/{id}"), {}, env)


async def test_parameter_cannot_set_framing_headers(env):
    params = {"host": {"type": "string", "in": "header", "wire_name": "Host"}}
    with pytest.raises(StageError, match="'Host'"):
        await KIND.deploy(entry("http://127.0.0.1:1/x", params=params), {"host": "evil"}, env)


def test_path_param_without_value_is_an_invalid_argument(env):
    params = {"id": {"type": ["string", "null"], "default": None}}
    with pytest.raises(ArgumentError) as info:
        KIND.check_args(entry("http://h/items/{id}", params=params), {}, env)
    assert info.value.parameter == "id"


def test_header_value_with_a_line_break_is_an_invalid_argument(env):
    params = {"note": {"type": "string", "in": "header", "wire_name": "X-Note"}}
    with pytest.raises(ArgumentError) as info:
        KIND.check_args(entry("http://h/x", params=params), {"note": "a\r\nX-Evil: 1"}, env)
    assert info.value.parameter == "note"


def test_check_args_leaves_entry_faults_to_deploy(env):
    KIND.check_args(entry("http://h/items/{id}"), {}, env)


@pytest.mark.parametrize(
    "url",
    ["http://{host}.example.com/x", "ftp://example.com/x", "http://", "example.com/x"],
)
def test_target_schema_refuses_urls_an_argument_could_steer(url):
    validator = jsonschema.Draft202012Validator(HttpKind.target_schema)
    assert not validator.is_valid({"url": url})


def test_target_schema_takes_placeholders_after_the_host():
    validator = jsonschema.Draft202012Validator(HttpKind.target_schema)
    assert validator.is_valid(
        {"url": "https://api.example.com:8443/v1/{id}?q={q}", "method": "PUT"}
    )
    assert not validator.is_valid({"url": "https://api.example.com/", "verb": "PUT"})
