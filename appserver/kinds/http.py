"""The `http` kind (SPEC §3): a stage that sends its input to a URL and outputs the answer.

The target is `{"url", "method" (default POST), "connection" (an alias)}`. Everything
fixed about the outgoing request is computed once at deploy by `request_parts`, a
plain function: the URL with its placeholders filled and its query, the parameter
headers and cookies, and the connection's headers. Decisions where SPEC is silent:

- A parameter's value is the descriptor's argument, else its schema's `default`;
  `None` leaves it out (a URL placeholder cannot be left out: 422
  /invalid-parameter). Strings go as they are, `true`/`false` lower case, numbers
  as JSON writes them, objects and arrays as compact JSON.
- `{placeholder}`s may stand only after the host (the target schema says so), so no
  argument can choose the address a stage talks to. A placeholder is filled with its
  value percent-encoded, `/` included; a placeholder names a parameter by its
  `wire_name` or its name.
- Headers win in this order: the parameters', then the connection's (the operator's
  credentials), then the stage's own `Content-Type`, `traceparent` and
  `X-Request-Id`. A parameter may not set `Host`, `Content-Length`,
  `Transfer-Encoding` or `Connection` (the entry fails to deploy). Cookie values are
  percent-encoded outside RFC 6265's cookie-octet.
- A GET, DELETE, HEAD or OPTIONS with an empty input is sent without a body; with
  `"body": false` in the target, no request has one.
- Redirects are never followed: a 3xx is /stage-failed naming its `Location`, so a
  stage never ends up talking to a host its entry did not name.
- The answer is capped at `[gateway] max_body_bytes` (after decompression);
  a bigger one is /stage-failed. An answer without `Content-Type` is
  `application/octet-stream`.
- Cookies an upstream sets are never kept (one stage serves every client).
- A connection alias that is not configured fails the deployment (502 naming it).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from appserver.connections import Connection
from appserver.kinds.base import DeployEnv, argument_text
from appserver.kinds.outgoing import SESSION_BYTES, map_client_errors, read_answer, stage_session
from igwcore import mediatype
from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError, StageError
from repository.entry import ServiceEntry

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODYLESS_WHEN_EMPTY = frozenset({"GET", "DELETE", "HEAD", "OPTIONS"})
PLACEMENTS = ("path", "query", "header", "cookie")
PLACEHOLDER_RE = re.compile(r"\{([^{}/]+)\}")
TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Characters of RFC 6265's cookie-octet that need no encoding (% is encoded, so a
# value decodes back unambiguously).
COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
ERROR_EXCERPT_CHARS = 200
ERROR_READ_BYTES = 4096
LARGE_BODY_BYTES = 1024 * 1024  # aiohttp warns of writing more as one bytes object


@dataclass(frozen=True)
class RequestParts:
    """What a stage sends with every message, fixed at deploy."""

    method: str
    url: URL
    headers: tuple[tuple[str, str], ...]

    def size_bytes(self) -> int:
        strings = [self.method, str(self.url), *(s for pair in self.headers for s in pair)]
        return sum(sys.getsizeof(s) for s in strings)


class EntryError(ValueError):
    """The entry itself cannot make a request (a placeholder no parameter fills, say)."""


def placement(name: str, schema: Mapping[str, Any], placeholders: set[str]) -> tuple[str, str]:
    """Where a parameter goes and the name it goes by: (`in`, wire name)."""
    wire_name = str(schema.get("wire_name", name))
    where = schema.get("in")
    if where is None:
        where = "path" if {name, wire_name} & placeholders else "query"
    if where not in PLACEMENTS:
        raise EntryError(f"parameter {name!r}: 'in' must be one of {', '.join(PLACEMENTS)}")
    if where == "path":
        # The URL's placeholder decides which of the two names it is known by.
        wire_name = wire_name if wire_name in placeholders else name
        if wire_name not in placeholders:
            raise EntryError(f"parameter {name!r} goes in the path, but the URL has no {{{name}}}")
    return where, wire_name


def request_parts(
    entry: ServiceEntry, args: Mapping[str, Any], connection: Connection | None = None
) -> RequestParts:
    """The fixed parts of a stage's request; ArgumentError for a bad value, else EntryError."""
    template = str(entry.target["url"])
    method = str(entry.target.get("method", "POST")).upper()
    placeholders = set(PLACEHOLDER_RE.findall(template))
    filled: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    headers: CIMultiDict[str] = CIMultiDict()
    cookies: list[str] = []
    for name, schema in entry.params.items():
        where, wire_name = placement(name, schema, placeholders)
        value = args[name] if name in args else schema.get("default")
        if value is None:
            if where == "path":
                raise ArgumentError(name, f"the URL needs a value for {{{wire_name}}}")
            continue
        text = argument_text(value)
        if where == "path":
            filled[wire_name] = quote(text, safe="")
        elif where == "query":
            query.append((wire_name, text))
        elif where == "header":
            if not TOKEN_RE.match(wire_name) or wire_name.lower() in FRAMING_HEADERS:
                raise EntryError(f"parameter {name!r} cannot be sent as header {wire_name!r}")
            if any(c in text for c in "\r\n\0"):
                raise ArgumentError(name, "a header value cannot hold a line break")
            headers[wire_name] = text
        else:
            if not TOKEN_RE.match(wire_name):
                raise EntryError(f"parameter {name!r} cannot be sent as cookie {wire_name!r}")
            cookies.append(f"{wire_name}={quote(text, safe=COOKIE_SAFE)}")
    missing = placeholders - filled.keys()
    if missing:
        raise EntryError(f"no parameter fills the URL's {{{sorted(missing)[0]}}}")
    try:
        url = URL(PLACEHOLDER_RE.sub(lambda m: filled[m.group(1)], template))
        if query:
            url = url.extend_query(query)
    except (ValueError, TypeError) as e:
        raise EntryError(f"not a usable URL: {e}") from e
    if connection is not None:
        headers.update(connection.outgoing_headers())
    if cookies:
        given = headers.get("Cookie")
        headers["Cookie"] = "; ".join([given, *cookies] if given else cookies)
    return RequestParts(method=method, url=url, headers=tuple(headers.items()))


class HttpStage:
    fixed_size = True  # its session and one connection, counted once

    def __init__(
        self, entry: ServiceEntry, parts: RequestParts, max_body_bytes: int, timeout_s: float
    ) -> None:
        self.entry = entry
        self._parts = parts
        self._max_body_bytes = max_body_bytes
        self._session = stage_session(timeout_s)
        self._where = f"upstream ({parts.method} {parts.url.with_query(None)})"
        self._sends_body = entry.target.get("body", True) is not False

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        if self._session.closed:
            raise StageError("the stage is closed")
        headers = CIMultiDict(self._parts.headers)
        data: bytes | io.BytesIO | None = message.body
        if not self._sends_body or (not message.body and self._parts.method in BODYLESS_WHEN_EMPTY):
            data = None
        else:
            headers["Content-Type"] = message.content_type
            if len(message.body) > LARGE_BODY_BYTES:
                data = io.BytesIO(message.body)  # written in slices, letting the loop run
        headers.update(request.propagated())
        with map_client_errors(self._where):
            async with self._session.request(
                self._parts.method,
                self._parts.url,
                data=data,
                headers=headers,
                allow_redirects=False,
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    body = await read_answer(response, self._max_body_bytes, self._where)
                else:
                    body = await self._excerpt(response)
                content_type = response.headers.get("Content-Type", mediatype.DEFAULT)
                location = response.headers.get("Location", "")
        if 200 <= status < 300:
            return Message(body, self._output_type(content_type))
        if 300 <= status < 400:
            raise StageError(
                f"upstream answered {status}, redirecting to {location or '?'}; "
                "redirects are not followed"
            )
        excerpt = body.decode("utf-8", errors="replace").strip()[:ERROR_EXCERPT_CHARS]
        reason = f"upstream answered {status}: {excerpt}"
        raise StageError(reason, rejected=400 <= status < 500)

    @staticmethod
    async def _excerpt(response: aiohttp.ClientResponse) -> bytes:
        """The start of an error answer: only an excerpt goes into the reason."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            chunks.append(chunk)
            size += len(chunk)
            if size >= ERROR_READ_BYTES:
                break
        return b"".join(chunks)

    def _output_type(self, answered: str) -> str:
        declared = self.entry.output
        if declared in (mediatype.SAME, mediatype.ANY):
            return answered
        return mediatype.normalize(declared)

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + self._parts.size_bytes() + SESSION_BYTES

    async def close(self) -> None:
        await self._session.close()


class HttpKind:
    name: ClassVar[str] = "http"
    target_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["url"],
        "properties": {
            # http(s), a host without placeholders, then anything without white space.
            "url": {
                "type": "string",
                "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#{}\s]+([/?#]\S*)?$",
            },
            "method": {"type": "string", "enum": list(METHODS)},
            "connection": {"type": "string", "minLength": 1},
            # false: the operation takes no body, so none is sent whatever the input
            # (an imported OpenAPI operation without a requestBody).
            "body": {"type": "boolean"},
        },
        "additionalProperties": False,
    }

    def check_target(self, target: Mapping[str, Any], env: DeployEnv) -> list[dict[str, str]]:
        return []  # the target schema says all there is to say

    def check_args(self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv) -> None:
        """An argument the request cannot carry; the entry's own faults wait for deploy."""
        try:
            request_parts(entry, args)
        except EntryError:
            return

    async def deploy(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> HttpStage:
        connection = env.connection(entry)
        try:
            parts = request_parts(entry, args, connection)
        except ArgumentError as e:
            raise StageError(f"parameter {e.parameter!r}: {e.reason}") from e
        except EntryError as e:
            raise StageError(f"cannot build the request: {e}") from e
        backstop_s = max(60.0, 2 * env.stage_timeout_s)
        return HttpStage(entry, parts, env.max_body_bytes, backstop_s)
