"""The hand-written aiohttp apps the gateway is measured against, run as processes.

`baseline` does, by hand, what the benchmarked pipes do: `POST /validated` is
`validator | JSON -> XML` (the body parsed with the gateway's JSON library, which is
the validator's check, then written as XML with lxml by SPEC §3's mapping for these
bodies), `POST /logged` is `logger | validator | JSON -> XML` (the same, after the line
the logger stage writes, through `logging` to stderr in the gateway's text format). It is
what a good engineer would write for the job, plainly, and is never tuned down.

`upstream` is the peer a route forwards to: it answers any request with a short JSON
document.

    python -m bench.apps baseline PORT
    python -m bench.apps upstream PORT
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from aiohttp import web
from lxml import etree

log = logging.getLogger("integration_gateway.stage.logger")


def build(parent: Any, name: str, value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            build(parent, name, item)
        return None
    element = etree.SubElement(parent, name) if parent is not None else etree.Element(name)
    if isinstance(value, dict):
        for key, member in value.items():
            build(element, key, member)
    elif value is not None:
        element.text = value if isinstance(value, str) else json.dumps(value)
    return element


def as_xml(body: bytes) -> web.Response:
    data = json.loads(body)
    ((name, value),) = data.items()
    root = build(None, name, value)
    return web.Response(body=etree.tostring(root), content_type="application/xml")


async def validated(request: web.Request) -> web.Response:
    return as_xml(await request.read())


async def logged(request: web.Request) -> web.Response:
    body = await request.read()
    log.info("%s %s %s %d bytes", request.method, request.path, request.content_type, len(body))
    return as_xml(body)


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def baseline() -> web.Application:
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/validated", validated)
    app.router.add_post("/logged", logged)
    return app


ANSWER = json.dumps({"status": "ok", "order": "A-1029", "lines": 3}).encode()


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


def upstream() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def main() -> None:
    which, port = sys.argv[1], int(sys.argv[2])
    reuse_port = "--reuse-port" in sys.argv[3:]  # several processes on one port
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = {"baseline": baseline, "upstream": upstream}[which]()
    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, reuse_port=reuse_port
    )


if __name__ == "__main__":
    main()
