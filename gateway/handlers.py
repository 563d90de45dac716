"""What every aiohttp handler of the gateway shares: the running gateway, JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway.runtime import Gateway
from igwcore.problems import InvalidEntry

GATEWAY = web.AppKey("gateway", Gateway)


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def items(values: list[Any]) -> web.Response:
    """A list, as the admin API answers one (SPEC §5)."""
    return web.json_response({"items": values})


async def json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidEntry(
            f"the body is not JSON: {e}", errors=[{"field": "", "reason": f"not JSON: {e}"}]
        ) from None
