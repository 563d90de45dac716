"""What flows through a pipe: a message, and the request it belongs to."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from igwcore import mediatype

_UNREAD = object()


@dataclass(frozen=True)
class Message:
    body: bytes
    content_type: str = mediatype.DEFAULT

    @property
    def media_type(self) -> str:
        return mediatype.normalize(self.content_type)

    def json(self, loads: Callable[[bytes], Any] = json.loads) -> Any:
        """The body parsed as JSON by `loads`, once a message: stages handed the same
        message (a validator, then a converter) share the value, so they read it and never
        change it. What `loads` raises is raised again at each call. A message made
        from this one (`dataclasses.replace`, a new body) parses its own."""
        parsed = self.__dict__.get("_json", _UNREAD)
        if parsed is _UNREAD:
            parsed = loads(self.body)
            object.__setattr__(self, "_json", parsed)
        return parsed


@dataclass(frozen=True)
class RequestContext:
    """The client's request as every stage may see it (SPEC §2: headers, path, query)."""

    method: str = "POST"
    path: str = "/"
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""
    traceparent: str | None = None

    def propagated(self) -> dict[str, str]:
        """What an outgoing call of a stage carries of this request: its trace context
        (W3C `traceparent`, with the client's `tracestate`) and its request id."""
        out: dict[str, str] = {}
        if self.traceparent:
            out["traceparent"] = self.traceparent
            tracestate = self.headers.get("tracestate")
            if tracestate:
                out["tracestate"] = tracestate
        if self.request_id:
            out["X-Request-Id"] = self.request_id
        return out
