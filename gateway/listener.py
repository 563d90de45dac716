"""The listeners' connections as SPEC §10.5 bounds them: heads, timers and how many.

aiohttp parses a request head with limits a field at a time and none for the whole; a
client could keep a connection open forever, or hold a megabyte of head per field. This
module puts the gateway's own bounds in front of aiohttp's parser, on both listeners:

- A head (request line and header fields) of more than `head_bytes` is not parsed: what
  passes the limit is counted and dropped, never buffered. Once the head ends the answer
  is 431 /header-too-large with that `limit`; a head that goes on past `MAX_ANSWERED`
  bytes gets no answer, its connection is closed.
- The whole head must arrive within `header_timeout_s` of the connection's accept or of
  the end of its last response (an idle keep-alive connection counts): else 408
  /request-timeout once some of it has arrived, and the connection closes either way.
  (A body's own deadline, `body_timeout_s`, is kept where a body is read.)
- The public listener serves at most `max_connections` connections at once (a
  `ConnectionGate`); one more is accepted, but not read, until another closes.

The answers are written straight to the transport, since no request exists to answer.
This leans on aiohttp's `RequestHandler` (its `data_received`, `connection_made` and its
keep-alive clock, `_next_keepalive_close_time`), which `BoundedRunner` makes the protocol
of an `AppRunner`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from gateway import logs
from igwcore.problems import BadRequest, HeaderTooLarge, Problem, RequestTimeout

log = logging.getLogger("integration_gateway.http")

HEAD_SLACK = 64 * 1024  # a head may hold this much besides Integration-Config
MAX_ANSWERED = 1024 * 1024  # a head up to this size is answered 431; a longer one cut off
LINGER_S = 1.0  # after an answer to a bad head, what the client still sends is dropped
END_OF_HEAD = b"\r\n\r\n"
CLOSE_GRACE_S = 0.5  # at a stop, for a request already on its way on an idle connection


@dataclass(frozen=True)
class HeadLimits:
    head_bytes: int  # [gateway] max_header_bytes + 64 KiB
    header_timeout_s: float  # [gateway] header_timeout_s

    @classmethod
    def of(cls, max_header_bytes: int, header_timeout_s: float) -> HeadLimits:
        return cls(max_header_bytes + HEAD_SLACK, header_timeout_s)


class ConnectionGate:
    """At most `limit` connections served at once; the others wait, unread, in order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.serving: set[BoundedHandler] = set()
        self._waiting: deque[BoundedHandler] = deque()

    def enter(self, handler: BoundedHandler) -> bool:
        """True when `handler` may be served now; else it waits its turn."""
        if len(self.serving) < self.limit:
            self.serving.add(handler)
            return True
        self._waiting.append(handler)
        return False

    def leave(self, handler: BoundedHandler) -> None:
        if handler in self.serving:
            self.serving.discard(handler)
            while self._waiting and len(self.serving) < self.limit:
                turn = self._waiting.popleft()
                if turn.waiting:
                    self.serving.add(turn)
                    turn.admit()
        else:
            with contextlib.suppress(ValueError):  # it was never let in, nor waiting
                self._waiting.remove(handler)


class BoundedHandler(RequestHandler):
    """aiohttp's protocol for one connection, with the head's size and time bounded."""

    def __init__(
        self, manager: web.Server, *, limits: HeadLimits, gate: ConnectionGate | None, **kwargs: Any
    ) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._gate = gate
        self.waiting = False  # accepted, but not served yet (the gate is full)
        self._pending_transport: asyncio.Transport | None = None
        self._head_bytes = 0  # of the head being read
        self._head_tail = b""  # its last bytes, to find its end across chunks
        self._dropping = False  # the head passed its limit: counted, not parsed
        self._body: Any = None  # the payload of the last head parsed
        self._head_timer: asyncio.TimerHandle | None = None
        self._served_at = 0.0  # when the connection was let in
        self._linger: asyncio.TimerHandle | None = None
        self._stopping = False  # the listener stops: the next answer closes

    # -- the connection's life -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._gate is not None and not self._gate.enter(self):
            self.waiting = True
            self._pending_transport = transport  # type: ignore[assignment]
            transport.pause_reading()  # type: ignore[attr-defined]
            return
        self._serve(transport)

    def admit(self) -> None:
        """The gate has room: serve this waiting connection."""
        transport, self._pending_transport = self._pending_transport, None
        self.waiting = False
        if transport is None or transport.is_closing():
            if self._gate is not None:
                self._gate.leave(self)
            return
        transport.resume_reading()
        self._serve(transport)

    def _serve(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._gate is not None:
            self._gate.leave(self)
        for timer in (self._head_timer, self._linger):
            if timer is not None:
                timer.cancel()
        if self.waiting:
            self.waiting = False
            self._pending_transport = None
            return  # never served: aiohttp never saw it
        super().connection_lost(exc)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """What aiohttp's parser refuses (a NUL in a header, say) is 400 problem+json and one
        log line, not a traceback."""
        if not isinstance(exc, HttpProcessingError) or status != 400:
            return super().handle_error(request, status, exc, message)
        reason = (message or str(exc)).strip().splitlines()[0] if (message or str(exc)) else ""
        log.info("-> 400 bad-request: the request is not HTTP: %s", reason)
        problem = BadRequest(f"the request is not well-formed HTTP: {reason}")
        response = web.Response(
            status=400,
            body=json.dumps(problem.body()).encode(),
            content_type="application/problem+json",
        )
        response.force_close()
        return response

    # -- reading heads -------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._linger is not None:
            return  # answered already: what the client still sends is thrown away
        if self._dropping or self._reading_head():
            seen = self._head_tail + data
            end = seen.find(END_OF_HEAD)
            self._head_bytes += (
                len(data) if end < 0 else end + len(END_OF_HEAD) - len(self._head_tail)
            )
            self._head_tail = seen[-3:]
            if self._dropping or self._head_bytes > self._limits.head_bytes:
                # Past the limit: counted, never handed to the parser, never kept.
                self._dropping = True
                if end >= 0:
                    self._answer(self._too_large())
                elif self._head_bytes > MAX_ANSWERED:
                    log.info("a request head passed %d bytes: connection closed", MAX_ANSWERED)
                    self.force_close()
                return
        before = len(self._messages)
        super().data_received(data)
        if len(self._messages) > before:  # a head was parsed: its body follows
            self._body = self._messages[-1][1]
            self._head_bytes, self._head_tail = 0, b""
            if self._stopping:
                self._close = True  # answered, then closed: the listener is stopping

    def close(self) -> None:
        """At a stop (aiohttp's `pre_shutdown`): close once the request in hand is
        answered. An idle connection may have a request on its way, sent already (a
        balancer's, on a connection it opened as the listener stopped): it gets
        `CLOSE_GRACE_S` to arrive, and is answered with the connection closed after it;
        closed at once, that request would be cut unanswered."""
        if self._waiter is None or self._messages or self._stopping:
            super().close()
            return
        self._stopping = True
        self._loop.call_later(CLOSE_GRACE_S, super().close)

    def _reading_head(self) -> bool:
        return self._body is None or self._body.is_eof()

    def _too_large(self) -> HeaderTooLarge:
        limit = self._limits.head_bytes
        return HeaderTooLarge(
            f"the request head has {self._head_bytes} bytes; the limit is {limit} "
            "(Integration-Config may hold max_header_bytes of it)",
            limit=limit,
        )

    # -- the head's deadline -------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        """One timer a connection, for its life: when it fires it works out when the head
        it waits for is due — header_timeout_s after the connection was let in, or after
        the end of its last answer (aiohttp's keep-alive clock) — and fires again then
        if that is still to come. A request costs no timer of its own."""
        self._served_at = self._loop.time()
        self._head_timer = self._loop.call_at(
            self._served_at + self._limits.header_timeout_s, self._head_late
        )

    def _head_due(self) -> float:
        since = self._served_at
        if self._next_keepalive_close_time:  # set at the end of each answer
            since = max(since, self._next_keepalive_close_time - self._keepalive_timeout)
        return since + self._limits.header_timeout_s

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport is None:
            return
        loop = self._loop
        if self._request_in_progress or not self._reading_head():
            # A request is being answered (or its body read): look again a timeout later.
            due = loop.time() + self._limits.header_timeout_s
        else:
            due = self._head_due()
        if due - loop.time() > 0.01:
            self._head_timer = loop.call_at(due, self._head_late)
            return
        if self._head_bytes or self._dropping:
            timeout = self._limits.header_timeout_s
            self._answer(RequestTimeout(f"the request head did not arrive within {timeout:g} s"))
        else:
            self.force_close()  # an idle connection: nothing to answer

    # -- answering without a request -----------------------------------------------------------

    def _answer(self, problem: Problem) -> None:
        """Write `problem` as the answer, stop reading requests, and close soon."""
        transport = self.transport
        if transport is None or self._linger is not None:
            return  # answered already: one answer a connection
        if self._head_timer is not None:  # no 408 after this answer
            self._head_timer.cancel()
            self._head_timer = None
        body = json.dumps(problem.body()).encode()
        reason = HTTPStatus(problem.status).phrase
        head = (
            f"HTTP/1.1 {problem.status} {reason}\r\n"
            "Content-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Request-Id: {logs.new_request_id()}\r\n"
            "Connection: close\r\n\r\n"
        )
        log.info("-> %d %s: %s", problem.status, problem.slug, problem.detail)
        transport.write(head.encode() + body)
        # Closing now could reset the connection under what the client still sends, and
        # lose the answer: say we are done, drop what comes, then close.
        if transport.can_write_eof():
            transport.write_eof()
        self._linger = self._loop.call_later(LINGER_S, self.force_close)


class BoundedServer(web.Server):
    """aiohttp's server, whose connections are `BoundedHandler`s."""

    def __init__(
        self, *args: Any, limits: HeadLimits, gate: ConnectionGate | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._gate = gate

    def __call__(self) -> RequestHandler:
        return BoundedHandler(
            self, limits=self._limits, gate=self._gate, loop=self._loop, **self._kwargs
        )


class BoundedRunner(web.AppRunner):
    """An AppRunner whose connections keep `limits` (and, with a `gate`, its count)."""

    def __init__(
        self,
        app: web.Application,
        *,
        limits: HeadLimits,
        gate: ConnectionGate | None = None,
        **kwargs: Any,
    ) -> None:
        # aiohttp's own per-field limits never answer first: the head's bound is ours.
        size = limits.head_bytes + 1
        kwargs.update(max_line_size=size, max_field_size=size, max_headers=size // 4)
        super().__init__(app, **kwargs)
        self._limits = limits
        self._gate = gate

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return BoundedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            limits=self._limits,
            gate=self._gate,
            **plain._kwargs,
        )
