"""What the admin API's handlers share: JSON bodies in, lists out (SPEC §5)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from igwcore.problems import InvalidEntry


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
