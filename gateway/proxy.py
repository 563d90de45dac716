"""Basic requests (SPEC §4): match a route, then reverse-proxy to its upstream.

Decisions where SPEC is silent:

- `match_route` is best given the request's raw (still percent-encoded) path,
  `request.rel_url.raw_path`, so that `%2F` reaches the upstream as the client wrote
  it (given the decoded `request.path`, characters a path may not hold raw are
  escaped again, but `%2F` will have become `/`). Dot segments (`.`, `..`, also
  written `%2e`) are resolved first, so a path can never climb out of its route's
  prefix (nor out of the upstream's own path).
- A prefix matches on a segment boundary: `/legacy` takes `/legacy` and
  `/legacy/x`, not `/legacyx`. The rest of the path is appended to the upstream URL
  as it stands: with upstream `http://h/base`, `/legacy/hello` goes to `/base/hello`
  and `/legacy` to `/base` (`http://h` with an empty rest asks for `/`).
- The upstream's scheme, host and port come only from the route: the client's path
  and `Host` never choose them.
- Hop-by-hop headers (RFC 9110 §7.6.1, plus `Proxy-Connection` and `Keep-Alive`)
  and every header named in `Connection` are dropped both ways, so WebSocket
  upgrades are not proxied. A request's `Expect` is dropped too (the gateway's own
  HTTP server answers `100 Continue`), and its `Host` is the upstream's.
- `X-Forwarded-For` gets the client's address appended; `X-Forwarded-Proto` and
  `X-Forwarded-Host` are set to what the gateway received, replacing the client's.
  A `Forwarded` header the client sent passes through untouched.
- Bodies stream both ways; a request without a body (no `Content-Length` nor
  `Transfer-Encoding`, or `Content-Length: 0`) is forwarded without one. Two shortcuts
  keep the common case to one send each way: a request body that has all arrived with
  its head goes on as bytes (with its length), and an answer that declares a length of
  at most `BUFFERED_BYTES` is read whole, then answered in one piece — which also lets
  an upstream that breaks off such an answer be a 502, not a cut connection. Bodies are
  never decompressed, so `Content-Encoding` passes through intact; nothing else is
  added except `Content-Type: application/octet-stream` on an untyped non-empty
  answer, where aiohttp's server insists.
- Redirects are never followed: a 3xx goes back to the client as it is. Cookies the
  upstream sets go to the client and are never kept by the gateway.
- An upstream that cannot be reached, or gives no answer within the read timeout, is
  `UpstreamFailed` (502). Once the answer has begun, a broken upstream can only be
  signalled by cutting the client's connection, which is what happens.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator, Iterable
from urllib.parse import quote

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, MultiMapping
from yarl import URL

from gateway.body import body_now, late
from gateway.config import Route
from igwcore.problems import PayloadTooLarge, Problem, UpstreamFailed, UpstreamTimeout

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Host is the upstream's; Expect was answered by the gateway's own server.
REQUEST_ONLY_DROPPED = frozenset({"host", "expect"})
DOT_SEGMENT_RE = re.compile(r"^(\.|%2e){1,2}$", re.IGNORECASE)
BUFFERED_BYTES = 64 * 1024  # an answer declaring at most this is read whole, sent at once
# Answers that never carry a body, or whose length is not the body's.
UNBUFFERED_STATUS = frozenset({101, 204, 304})
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
KEEPALIVE_S = 30.0


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 over a raw path, treating `%2e` as `.`."""
    if path.startswith("/") and "." not in path and "%2" not in path:
        return path  # no segment can be a dot segment
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if DOT_SEGMENT_RE.match(segment):
            if segment.replace("%2e", ".").replace("%2E", ".") == ".." and len(out) > 1:
                out.pop()
            if last:
                out.append("")  # `/a/..` is the folder `/`, keep its trailing slash
            continue
        out.append(segment)
    return "/".join(out) if out != [""] else "/"


def match_route(routes: Iterable[Route], path: str) -> tuple[Route, str] | None:
    """The route whose prefix is longest on a segment boundary, and the rest of the path."""
    path = remove_dot_segments(path)
    best: tuple[Route, str] | None = None
    longest = -1
    for route in routes:
        prefix = route.prefix.rstrip("/")
        covers = path == prefix or path.startswith(prefix + "/")
        if covers and len(prefix) > longest:
            best, longest = (route, path[len(prefix) :]), len(prefix)
    return best


def connection_named(headers: MultiMapping[str]) -> set[str]:
    """The header names the `Connection` headers list, lower case."""
    values = headers.getall("Connection", [])
    return {token.strip().lower() for value in values for token in value.split(",")} - {""}


def end_to_end(headers: MultiMapping[str], drop: frozenset[str] = frozenset()) -> CIMultiDict[str]:
    """The headers that go on: not hop-by-hop, not named in `Connection`, not in `drop`."""
    dropped = HOP_BY_HOP | drop
    if "Connection" in headers:
        dropped |= connection_named(headers)
    return CIMultiDict([(k, v) for k, v in headers.items() if k.lower() not in dropped])


def upstream_url(route: Route, rest: str, query_string: str) -> URL:
    """The route's upstream with `rest` appended; only the route picks scheme and host."""
    base = _parsed_upstream(route.upstream)
    # Escapes already in `rest` stay as they are; what a decoded path would carry raw
    # (a space, non-ASCII) is escaped, so the request line stays valid either way.
    path = base.raw_path.rstrip("/") + quote(rest, safe=PATH_SAFE)
    if not path.startswith("/"):
        path = "/" + path
    return URL.build(
        scheme=base.scheme,
        authority=base.raw_authority,
        path=path,
        query_string=query_string,
        encoded=True,
    )


@functools.lru_cache(maxsize=256)  # one a route: the configured upstreams
def _parsed_upstream(upstream: str) -> URL:
    return URL(upstream)


def forwarded_headers(request: web.BaseRequest) -> CIMultiDict[str]:
    """The client's end-to-end headers, with X-Forwarded-* telling the upstream who asked."""
    headers = end_to_end(request.headers, REQUEST_ONLY_DROPPED)
    earlier = ", ".join(headers.popall("X-Forwarded-For", []))
    client = request.remote or ""
    headers["X-Forwarded-For"] = f"{earlier}, {client}" if earlier else client
    headers["X-Forwarded-Proto"] = request.scheme
    if request.host:
        headers["X-Forwarded-Host"] = request.host
    return headers


class Proxy:
    """Forwards basic requests, each route over a client session of its own (SPEC §10.7):
    its own pool of at most `max_connections`, its own `timeout_s`, so that one hung
    upstream never delays another route."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    async def start(self) -> None:
        for route in self._routes:
            session = self._sessions.get(route.prefix)
            if session is None or session.closed:
                self._sessions[route.prefix] = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(
                        limit=route.max_connections, keepalive_timeout=KEEPALIVE_S
                    ),
                    # The route's own deadlines are kept below (`timeout_s`).
                    timeout=aiohttp.ClientTimeout(total=None),
                    cookie_jar=aiohttp.DummyCookieJar(),
                    auto_decompress=False,
                    # Only the client's own headers go on: no User-Agent, Accept... of ours.
                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                )

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()

    async def forward(
        self,
        request: web.Request,
        route: Route,
        rest: str,
        *,
        max_body_bytes: int | None = None,
        body_timeout_s: float | None = None,
    ) -> web.StreamResponse:
        """Send `request` to `route`'s upstream at `rest` and stream its answer back; a body
        that streams past `max_body_bytes` is 413 and never reaches the upstream whole."""
        session = self._sessions.get(route.prefix)
        if session is None:
            raise RuntimeError(f"Proxy.start() was not awaited for route {route.prefix}")
        url = upstream_url(route, rest, request.rel_url.raw_query_string)
        data: bytes | AsyncIterator[bytes] | None = None
        if request.body_exists:
            data = body_now(request, max_body_bytes) if max_body_bytes is not None else None
            if data is None:
                data = _limited(request.content, max_body_bytes, body_timeout_s)
        loop = asyncio.get_running_loop()
        answered = False  # the answer's head has come
        try:
            # From the request to the upstream's answer head, a wait for the pool included;
            # then again for each pause in its body.
            async with asyncio.timeout(route.timeout_s) as deadline:
                upstream = await session.request(
                    request.method,
                    url,
                    headers=forwarded_headers(request),
                    data=data,
                    allow_redirects=False,
                )
                answered = True
                if _buffered(request, upstream):
                    deadline.reschedule(loop.time() + route.timeout_s)
                    try:
                        body = await upstream.read()
                    finally:
                        upstream.release()
                    return _whole(upstream, body)
        except TimeoutError as e:
            what = "finish its answer" if answered else "answer"
            raise UpstreamTimeout(
                f"the upstream did not {what} within the route's timeout_s ({route.timeout_s:g} s)",
                upstream=route.upstream,
            ) from e
        except aiohttp.ClientError as e:
            if isinstance(e.__cause__, Problem):  # raised by _limited (413, 408), wrapped
                raise e.__cause__ from None
            if answered:
                detail = f"the upstream broke off its answer: {e}"
            else:
                detail = f"the upstream could not be reached: {e}"
            raise UpstreamFailed(detail, upstream=route.upstream) from e
        async with upstream:
            return await self._relay(request, upstream, route)

    async def _relay(
        self, request: web.Request, upstream: aiohttp.ClientResponse, route: Route
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        response.headers.extend(end_to_end(upstream.headers))
        try:
            await response.prepare(request)
        except ConnectionError as e:
            log.debug("client went away before an answer from %s: %s", route.upstream, e)
            return response
        while True:
            try:
                async with asyncio.timeout(route.timeout_s):  # again for each pause
                    chunk = await upstream.content.readany()
                if not chunk:
                    return response
            except (aiohttp.ClientError, TimeoutError) as e:
                # Too late for a 502: cutting the connection tells the client the body is
                # short (a clean end would pass a truncated body off as whole).
                log.warning("upstream %s broke off its answer: %s", route.upstream, e)
                if request.transport is not None:
                    request.transport.abort()
                return response
            try:
                await response.write(chunk)
            except ConnectionError as e:
                # aiohttp's server closes a connection whose client went away.
                log.debug("client went away during an answer from %s: %s", route.upstream, e)
                return response


def _buffered(request: web.Request, upstream: aiohttp.ClientResponse) -> bool:
    """Whether the answer is read whole before it is sent on (see the module's notes)."""
    length = upstream.content_length
    return (
        length is not None
        and length <= BUFFERED_BYTES
        and request.method != "HEAD"
        and upstream.status not in UNBUFFERED_STATUS
        and upstream.status >= 200
    )


def _whole(upstream: aiohttp.ClientResponse, body: bytes) -> web.Response:
    headers = end_to_end(upstream.headers)
    headers.popall("Content-Length", None)  # the body's own, set by the response
    return web.Response(status=upstream.status, reason=upstream.reason, body=body, headers=headers)


async def _limited(
    content: aiohttp.StreamReader, limit: int | None, timeout_s: float | None
) -> AsyncIterator[bytes]:
    """The body in chunks: 413 once it passes `limit` bytes, 408 once it takes more than
    `timeout_s` (the upstream never gets it whole: aiohttp cuts the connection to it)."""
    size = 0
    deadline = None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await content.readany()
        except TimeoutError:
            raise late(timeout_s or 0) from None
        if not chunk:
            return
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"the body has more than {limit} bytes", limit=limit)
        yield chunk
