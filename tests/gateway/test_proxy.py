"""The basic-request proxy: route matching, and forwarding to real upstreams on loopback."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from gateway.config import Route
from gateway.proxy import Proxy, end_to_end, match_route, remove_dot_segments, upstream_url
from igwcore.problems import UpstreamFailed, UpstreamTimeout

EVENTS = web.AppKey("events", dict[str, asyncio.Event])
HITS = web.AppKey("hits", list[str])

# -- pure functions ------------------------------------------------------------------

ROUTES = (
    Route("/legacy/v2", "http://v2:9000"),
    Route("/legacy", "http://legacy:9000"),
    Route("/", "http://default:9000"),
)


@pytest.mark.parametrize(
    ("path", "upstream", "rest"),
    [
        ("/legacy", "http://legacy:9000", ""),
        ("/legacy/", "http://legacy:9000", "/"),
        ("/legacy/hello", "http://legacy:9000", "/hello"),
        ("/legacy/v2/x", "http://v2:9000", "/x"),
        ("/legacy/v2x", "http://legacy:9000", "/v2x"),
        ("/legacyx", "http://default:9000", "/legacyx"),
        ("/", "http://default:9000", "/"),
    ],
)
def test_prefix_matches_on_a_segment_boundary(path, upstream, rest):
    route, got = match_route(ROUTES, path) or (None, None)
    assert (route and route.upstream, got) == (upstream, rest)


def test_path_outside_every_prefix_has_no_route():
    assert match_route(ROUTES[:2], "/legacyx") is None
    assert match_route((), "/legacy") is None


def test_longest_prefix_wins_in_any_order():
    route, rest = match_route(reversed(ROUTES), "/legacy/v2/x") or (None, None)
    assert route == ROUTES[0]
    assert rest == "/x"


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("/legacy/../admin", "/admin"),
        ("/legacy/%2e%2E/admin", "/admin"),
        ("/legacy/.%2e/admin", "/admin"),
        ("/a/./b/.", "/a/b/"),
        ("/a/..", "/"),
        ("/../../etc", "/etc"),
        ("/a/...b/%2F", "/a/...b/%2F"),
    ],
)
def test_dot_segments_are_resolved_before_matching(path, normal):
    assert remove_dot_segments(path) == normal


def test_dot_segments_cannot_climb_out_of_a_prefix():
    assert match_route(ROUTES[:2], "/legacy/../admin") is None


def test_upstream_url_keeps_the_routes_authority_and_escapes():
    route = Route("/legacy", "http://h:9000/base")
    assert str(upstream_url(route, "/a%2Fb", "q=a%20b")) == "http://h:9000/base/a%2Fb?q=a%20b"
    assert str(upstream_url(route, "", "")) == "http://h:9000/base"
    assert str(upstream_url(Route("/x", "http://h"), "", "")) == "http://h/"
    assert upstream_url(route, "//evil.example/x", "").host == "h"
    assert upstream_url(route, "/a b/é", "").raw_path == "/base/a%20b/%C3%A9"


def test_end_to_end_drops_hop_by_hop_and_connection_named_headers():
    headers = CIMultiDict(
        [
            ("Connection", "keep-alive, X-Private"),
            ("Connection", "x-other"),
            ("X-Private", "1"),
            ("X-Other", "2"),
            ("Keep-Alive", "300"),
            ("TE", "trailers"),
            ("X-Kept", "3"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ]
    )
    assert list(end_to_end(headers).items()) == [
        ("X-Kept", "3"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]


# -- against real servers ------------------------------------------------------------


async def inspect(request: web.Request) -> web.Response:
    """What arrived: method, raw path and query, headers, and the body's size and framing."""
    request.app[HITS].append(request.rel_url.raw_path)
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "raw_path": request.rel_url.raw_path,
            "query_string": request.rel_url.raw_query_string,
            "headers": {k.lower(): ", ".join(request.headers.getall(k)) for k in request.headers},
            "body_exists": request.body_exists,
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
    )


async def hop(request: web.Request) -> web.Response:
    return web.Response(
        text="hop",
        headers={
            "Connection": "X-Secret",
            "X-Secret": "1",
            "Keep-Alive": "timeout=5",
            "Proxy-Authenticate": "Basic",
            "Trailer": "X-Sum",
            "X-Kept": "yes",
        },
    )


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


GZIPPED = gzip.compress(b"hello " * 1000)


async def gzipped(request: web.Request) -> web.Response:
    return web.Response(
        body=GZIPPED, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
    )


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)
    return web.Response(text="late")


async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"first,")
    await request.app[EVENTS]["seen_first"].wait()
    await response.write(b"second")
    return response


async def upload(request: web.Request) -> web.Response:
    first = await request.content.readany()
    request.app[EVENTS]["got_first"].set()
    rest = await request.content.read()
    return web.json_response({"first": len(first), "total": len(first) + len(rest)})


async def broken(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "100000"})
    await response.prepare(request)
    await response.write(b"x" * 100)
    await asyncio.sleep(0.05)
    assert request.transport is not None
    request.transport.abort()
    return response


async def set_cookie(request: web.Request) -> web.Response:
    response = web.Response(text="ok")
    response.set_cookie("session", "upstream")
    return response


@pytest.fixture
async def upstream(aiohttp_server: Callable[..., Any]) -> TestServer:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[EVENTS] = {"seen_first": asyncio.Event(), "got_first": asyncio.Event()}
    app[HITS] = []
    for path, handler in [
        ("/_hop", hop),
        ("/_redirect", redirect),
        ("/_gzip", gzipped),
        ("/_slow", slow),
        ("/_stream", stream),
        ("/_upload", upload),
        ("/_broken", broken),
        ("/_cookie", set_cookie),
    ]:
        app.router.add_route("*", path, handler)
    app.router.add_route("*", "/{tail:.*}", inspect)
    return await aiohttp_server(app)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def gateway(aiohttp_server: Callable[..., Any], upstream: TestServer) -> TestServer:
    """A tiny stand-in for the gateway app: match a route, forward, render UpstreamFailed."""
    base = f"http://127.0.0.1:{upstream.port}"
    routes = (
        Route("/legacy", base, timeout_s=1.0),
        Route("/based", base + "/base", timeout_s=1.0),
        Route("/dead", f"http://127.0.0.1:{closed_port()}", timeout_s=1.0),
    )
    proxy = Proxy(routes)

    async def handle(request: web.Request) -> web.StreamResponse:
        found = match_route(routes, request.rel_url.raw_path)
        if found is None:
            raise web.HTTPNotFound()
        try:
            return await proxy.forward(request, *found)
        except (UpstreamFailed, UpstreamTimeout) as e:
            return web.json_response(e.body(), status=e.status)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await proxy.start()
        yield
        await proxy.close()

    app = web.Application()
    app.cleanup_ctx.append(lifecycle)
    app.router.add_route("*", "/{tail:.*}", handle)
    return await aiohttp_server(app)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def raw_exchange(server: TestServer, request: bytes) -> tuple[str, bytes]:
    """Send `request` as bytes (with `Connection: close`); the answer's head and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode(), body


async def test_rest_of_path_and_query_reach_the_upstream(gateway, client):
    async with client.get(gateway.make_url("/legacy/hello?x=1&y=a%20b")) as response:
        seen = await response.json()
    assert (seen["raw_path"], seen["query_string"]) == ("/hello", "x=1&y=a%20b")


async def test_exact_prefix_reaches_the_upstream_root(gateway, client):
    async with client.get(gateway.make_url("/legacy")) as response:
        assert (await response.json())["raw_path"] == "/"


async def test_upstream_path_is_kept_before_the_rest(gateway, client):
    async with client.get(gateway.make_url("/based/x/y")) as response:
        assert (await response.json())["raw_path"] == "/base/x/y"


async def test_escaped_slash_reaches_the_upstream_as_sent(gateway):
    _, body = await raw_exchange(
        gateway, b"GET /legacy/a%2Fb%20c HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    )
    assert json.loads(body)["raw_path"] == "/a%2Fb%20c"


async def test_dot_segments_stay_inside_the_route(gateway, upstream):
    head, _ = await raw_exchange(
        gateway, b"GET /based/x/../../y HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    )
    assert head.startswith("HTTP/1.1 404")
    assert upstream.app[HITS] == []


async def test_path_beyond_the_prefix_boundary_is_not_routed(gateway, client):
    async with client.get(gateway.make_url("/legacyx")) as response:
        assert response.status == 404


async def test_host_is_the_upstreams_and_forwarded_headers_are_set(gateway, upstream, client):
    headers = {"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Host": "forged", "Forwarded": "for=x"}
    async with client.get(gateway.make_url("/legacy/"), headers=headers) as response:
        seen = (await response.json())["headers"]
    assert seen["host"] == f"127.0.0.1:{upstream.port}"
    assert seen["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{gateway.port}"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["forwarded"] == "for=x"


async def test_client_without_forwarded_for_gets_its_address(gateway, client):
    async with client.get(gateway.make_url("/legacy/")) as response:
        assert (await response.json())["headers"]["x-forwarded-for"] == "127.0.0.1"


async def test_large_body_streams_through_intact(gateway, client):
    body = os.urandom(5 * 1024 * 1024)
    url = gateway.make_url("/legacy/big")
    async with client.put(url, data=io.BytesIO(body)) as response:
        seen = await response.json()
    assert seen["method"] == "PUT"
    assert seen["body_len"] == len(body)
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert seen["headers"]["content-length"] == str(len(body))
    assert "transfer-encoding" not in seen["headers"]


async def test_request_body_streams_before_it_is_complete(gateway, upstream, client):
    got_first = upstream.app[EVENTS]["got_first"]

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        # The upstream has the first chunk while the client has not sent the second.
        await asyncio.wait_for(got_first.wait(), 5)
        yield b"b" * 1000

    async with client.post(gateway.make_url("/legacy/_upload"), data=body()) as response:
        assert await response.json() == {"first": 1000, "total": 2000}


async def test_answer_streams_before_it_is_complete(gateway, upstream, client):
    async with client.get(gateway.make_url("/legacy/_stream")) as response:
        first = await asyncio.wait_for(response.content.readexactly(6), 5)
        upstream.app[EVENTS]["seen_first"].set()
        assert first + await response.content.read() == b"first,second"


async def test_get_without_body_is_forwarded_without_one(gateway):
    _, body = await raw_exchange(
        gateway, b"GET /legacy/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    )
    seen = json.loads(body)
    assert not seen["body_exists"]
    assert "content-length" not in seen["headers"]
    assert "transfer-encoding" not in seen["headers"]


async def test_post_with_empty_body_is_forwarded_without_a_chunked_one(gateway):
    _, body = await raw_exchange(
        gateway,
        b"POST /legacy/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    seen = json.loads(body)
    assert (seen["method"], seen["body_len"]) == ("POST", 0)
    assert seen["headers"].get("content-length", "0") == "0"
    assert "transfer-encoding" not in seen["headers"]


async def test_a_body_that_came_with_its_head_goes_on_whole_with_its_length(gateway):
    payload = b'{"order": "A-1"}'
    head, body = await raw_exchange(
        gateway,
        b"POST /legacy/x HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(payload), payload),
    )
    seen = json.loads(body)
    assert seen["body_len"] == len(payload)
    assert seen["headers"]["content-length"] == str(len(payload))
    assert "transfer-encoding" not in seen["headers"]
    # The short answer was read whole and sent on with its own length, not chunked.
    lines = head.split("\r\n")
    assert f"Content-Length: {len(body)}" in lines
    assert not any(line.lower().startswith("transfer-encoding") for line in lines)


async def test_hop_by_hop_request_headers_are_dropped(gateway):
    request = (
        b"GET /legacy/x HTTP/1.1\r\nHost: gw\r\n"
        b"Connection: close, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: 300\r\n"
        b"Proxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
        b"Trailer: X-Sum\r\nX-Keep-Me: 1\r\nUser-Agent: test-agent\r\n\r\n"
    )
    _, body = await raw_exchange(gateway, request)
    seen = json.loads(body)["headers"]
    dropped = ("x-drop-me", "keep-alive", "proxy-authorization", "proxy-connection", "te")
    for name in (*dropped, "trailer"):
        assert name not in seen, name
    assert "x-drop-me" not in seen.get("connection", "").lower()
    assert (seen["x-keep-me"], seen["user-agent"]) == ("1", "test-agent")
    assert "accept-encoding" not in seen  # nothing of the proxy's own is added


async def test_hop_by_hop_answer_headers_are_dropped(gateway, client):
    async with client.get(gateway.make_url("/legacy/_hop")) as response:
        assert await response.text() == "hop"
        headers = response.headers
    for name in ("X-Secret", "Keep-Alive", "Proxy-Authenticate", "Trailer"):
        assert name not in headers, name
    assert "x-secret" not in headers.get("Connection", "").lower()
    assert headers["X-Kept"] == "yes"


async def test_head_answer_keeps_its_length_and_has_no_body(gateway):
    head, body = await raw_exchange(
        gateway, b"HEAD /legacy/_gzip HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    )
    assert head.startswith("HTTP/1.1 200")
    assert f"Content-Length: {len(GZIPPED)}" in head.split("\r\n")
    assert body == b""


async def test_redirect_is_passed_back_not_followed(gateway, upstream, client):
    url = gateway.make_url("/legacy/_redirect")
    async with client.get(url, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/elsewhere"
    assert "/elsewhere" not in upstream.app[HITS]


async def test_compressed_answer_passes_through_intact(gateway, client):
    headers = {"Accept-Encoding": "gzip"}
    async with client.get(gateway.make_url("/legacy/_gzip"), headers=headers) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Content-Length"] == str(len(GZIPPED))
        assert await response.read() == GZIPPED


async def test_upstream_cookies_reach_the_client_but_are_not_kept(gateway, client):
    async with client.get(gateway.make_url("/legacy/_cookie")) as response:
        assert response.headers["Set-Cookie"].startswith("session=upstream")
    client.cookie_jar.clear()
    async with client.get(gateway.make_url("/legacy/x")) as response:
        assert "cookie" not in (await response.json())["headers"]


async def test_unreachable_upstream_is_upstream_failed(gateway, client):
    async with client.get(gateway.make_url("/dead/x")) as response:
        problem = await response.json()
    assert response.status == 502
    assert problem["type"].endswith("/upstream-failed")
    assert problem["upstream"].startswith("http://127.0.0.1:")


async def test_silent_upstream_is_upstream_timeout(gateway, client):
    # SPEC §10.7: past the route's timeout_s, 504 /upstream-timeout naming the upstream.
    async with client.get(gateway.make_url("/legacy/_slow")) as response:
        assert response.status == 504
        body = await response.json()
        assert body["type"].endswith("/upstream-timeout") and body["upstream"].startswith("http")


async def test_answer_broken_midway_cuts_the_client_off(gateway, client):
    async with client.get(gateway.make_url("/legacy/_broken")) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_forward_before_start_is_a_programming_error(upstream):
    proxy = Proxy([Route("/x", "http://h")])
    with pytest.raises(RuntimeError, match="start"):
        await proxy.forward(None, Route("/x", "http://h"), "/")  # type: ignore[arg-type]
