"""Real parts for tests: the gateway on loopback (both listeners), and a real upstream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway import config as configuration
from gateway.runtime import Gateway
from gateway.serve import runners

pytest_plugins = ["tests.pg"]  # postgres, pg_dsn: a real PostgreSQL

HEADER = "Integration-Config"
PROBLEM_BASE = "https://integration-gateway.dev/problems/"


def upstream_app() -> web.Application:
    """A plain HTTP service for `http` stages and routes."""

    async def upper(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(body=body.upper(), content_type=request.content_type)

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(
            body=body,
            headers={
                "Content-Type": request.headers.get("Content-Type", "application/octet-stream")
            },
        )

    async def tag(request: web.Request) -> web.Response:
        return web.Response(text="tag=" + request.match_info["tag"])

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="upstream broke")

    async def reject(request: web.Request) -> web.Response:
        return web.Response(status=400, text="upstream says no")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "3")))
        return web.Response(body=await request.read(), content_type="text/plain")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello " + request.path_qs)

    async def headers(request: web.Request) -> web.Response:
        return web.json_response(dict(request.headers))

    async def csv(request: web.Request) -> web.Response:
        return web.Response(
            body=b"x-acc:" + await request.read(), headers={"Content-Type": "application/x-acc"}
        )

    app = web.Application()
    app.router.add_post("/upper", upper)
    app.router.add_post("/echo", echo)
    app.router.add_post("/tag/{tag}", tag)
    app.router.add_post("/fail", fail)
    app.router.add_post("/reject", reject)
    app.router.add_post("/slow", slow)
    app.router.add_post("/csv", csv)
    app.router.add_get("/hello", hello)
    app.router.add_get("/hello/{rest:.*}", hello)
    app.router.add_route("*", "/headers", headers)
    return app


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    server = TestServer(upstream_app(), host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}"
    await server.close()


@dataclass
class Answer:
    """A response read whole, so tests can look at it after the connection is released."""

    status: int
    headers: Any
    body: bytes

    async def read(self) -> bytes:
        return self.body

    async def text(self) -> str:
        return self.body.decode()

    async def json(self) -> Any:
        return json.loads(self.body)


async def answer(r: aiohttp.ClientResponse) -> Answer:
    return Answer(r.status, r.headers, await r.read())


@dataclass
class Running:
    gateway: Gateway
    base: str
    admin: str
    http: aiohttp.ClientSession

    async def call(
        self,
        header: str | None,
        body: Any = b"",
        ctype: str = "application/json",
        path: str = "/",
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        h = {"Content-Type": ctype, **(headers or {})}
        if header is not None:
            h[HEADER] = header
        async with self.http.request(method, self.base + path, data=body, headers=h) as r:
            return await answer(r)

    async def adm(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.admin + path, **kwargs) as r:
            return await answer(r)


def config_for(work: Path, upstream: str | None = None, **sections: Any) -> Any:
    raw: dict[str, Any] = {
        "gateway": {"stage_timeout_s": 2},
        "repository": {"path": "var/repository.sqlite"},
        "purge": {"interval_s": 3600},
        "services": {"logger": {"dir": "var/log"}},
    }
    if upstream:
        raw["routes"] = [{"prefix": "/legacy", "upstream": upstream}]
    for name, values in sections.items():
        if name == "routes":  # more [[routes]], after /legacy
            raw["routes"] = [*raw.get("routes", []), *values]
        else:
            raw.setdefault(name, {}).update(values)
    return configuration.from_dict(raw, base_dir=work)


@pytest.fixture
async def start_gateway(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    started: list[tuple[Running, web.AppRunner, web.AppRunner]] = []

    async def start(
        upstream: str | None = None, work: Path | None = None, **sections: Any
    ) -> Running:
        gw = Gateway(config_for(work or tmp_path, upstream, **sections))
        await gw.start()
        # The listeners as `serve` runs them, on free loopback ports.
        public, admin = runners(gw)
        ports = []
        for runner in (public, admin):
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            ports.append(runner.addresses[0][1])
        running = Running(
            gw,
            f"http://127.0.0.1:{ports[0]}",
            f"http://127.0.0.1:{ports[1]}",
            aiohttp.ClientSession(),
        )
        started.append((running, public, admin))
        return running

    yield start
    for running, public, admin in started:
        await running.http.close()
        await public.cleanup()
        await admin.cleanup()
        await running.gateway.stop()


@pytest.fixture
async def gw(start_gateway: Callable[..., Awaitable[Running]], upstream: str) -> Running:
    return await start_gateway(upstream)


async def problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    """Assert `r` is the problem+json of SPEC §2 with that status and type."""
    text = await r.text()
    assert r.status == status, (r.status, text[:800])
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = json.loads(text)
    assert body["type"] == PROBLEM_BASE + slug, body
    assert body["status"] == status and body["title"] and body["detail"], body
    assert "Traceback" not in text
    return body


def http_entry(
    name: str,
    url: str,
    version: str = "1.0.0",
    params: dict | None = None,
    inp: tuple[str, ...] = ("*/*",),
    out: str = "same",
    converter: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "kind": "http",
        "params": params or {},
        "input": list(inp),
        "output": out,
        "converter": converter,
        "target": {"url": url, "method": "POST"},
        "enabled": True,
    }
