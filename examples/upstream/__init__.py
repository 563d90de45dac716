"""A small REST API for the README's guide: it answers, and describes itself in OpenAPI.

`python -m examples.upstream --port 9000` serves:

- `POST /upper`: the body in upper case, with its own Content-Type;
- `GET /stock/{sku}?warehouse=`: `{"sku", "warehouse", "count"}` as JSON;
- `GET /openapi.yaml`: the OpenAPI 3.1 document of the two, its server this very address.
"""

from __future__ import annotations

import yaml
from aiohttp import web

STOCK = {"A-1": 12, "B-2": 0}


def document(base: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Example Upstream", "version": "1.0.0"},
        "servers": [{"url": base}],
        "paths": {
            "/upper": {
                "post": {
                    "operationId": "upper",
                    "summary": "The body in upper case",
                    "requestBody": {"content": {"text/plain": {}}},
                    "responses": {"200": {"description": "ok", "content": {"text/plain": {}}}},
                }
            },
            "/stock/{sku}": {
                "get": {
                    "operationId": "stock",
                    "summary": "How many of an article a warehouse has",
                    "parameters": [
                        {"name": "sku", "in": "path", "required": True,
                         "schema": {"type": "string", "pattern": "^[A-Z]-[0-9]+$"}},
                        {"name": "warehouse", "in": "query", "description": "where to count",
                         "schema": {"type": "string", "enum": ["north", "south"],
                                    "default": "north"}},
                    ],
                    "responses": {"200": {"description": "ok",
                                          "content": {"application/json": {}}}},
                }
            },
        },
    }  # fmt: skip


def application() -> web.Application:
    async def upper(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(
            body=body.upper(), content_type=request.content_type or "application/octet-stream"
        )

    async def stock(request: web.Request) -> web.Response:
        sku = request.match_info["sku"]
        if sku not in STOCK:
            return web.json_response({"error": f"no article {sku}"}, status=404)
        warehouse = request.query.get("warehouse", "north")
        return web.json_response({"sku": sku, "warehouse": warehouse, "count": STOCK[sku]})

    async def openapi(request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.Response(text=yaml.safe_dump(document(base)), content_type="application/yaml")

    app = web.Application()
    app.router.add_post("/upper", upper)
    app.router.add_get("/stock/{sku}", stock)
    app.router.add_get("/openapi.yaml", openapi)
    return app
