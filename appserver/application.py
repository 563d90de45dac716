"""A deployed integration application: its stages, its accounting, its invocation."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from appserver.kinds.base import Stage
from appserver.plan import Plan, check
from igwcore import mediatype
from igwcore.message import Message, RequestContext
from igwcore.problems import Problem, StageError, StageFailed, StageTimeout

log = logging.getLogger("integration_gateway.appserver")

# What an application holds beyond what its stages estimate for themselves, measured
# with tracemalloc over 2,000 deployments each of one-, two- and three-stage pipes of
# built-ins (CPython 3.11), rounded up: the Application with its event, type-check cache
# and places in the application list and its app server (BASE_BYTES), and for each
# stage its plan — a copy of the service entry, the coerced arguments — and the stage
# object's own attributes (STAGE_BYTES), plus the canonical form and key as text.
BASE_BYTES = 2 * 1024
STAGE_BYTES = 2304


class StageTracer(Protocol):
    """Spans for stages (the gateway's OpenTelemetry tracing is one)."""

    def stage(
        self, index: int, service: str, given: str | None
    ) -> AbstractContextManager[str | None]:
        """A span for one stage; yields the `traceparent` its outgoing call carries (the
        client's, `given`, when nothing is traced)."""
        ...


class StageTiming:
    """How long one stage of one request took."""

    __slots__ = ("index", "ms", "service")

    def __init__(self, index: int, service: str, ms: float) -> None:
        self.index = index
        self.service = service
        self.ms = ms

    def server_timing(self) -> str:
        return f's{self.index};desc="{self.service}";dur={self.ms:.2f}'

    def __repr__(self) -> str:
        return f"StageTiming({self.index}, {self.service!r}, {self.ms:.3f})"


class Application:
    """One application on one app server; mutable state owned by the event loop."""

    def __init__(
        self, plan: Plan, stages: list[Stage], *, app_server: str, node: str, now_ns: int
    ) -> None:
        self.plan = plan
        self.stages = stages
        self.app_server = app_server
        self.node = node
        self.endpoint = f"appserver://{node}/{app_server}/{plan.key}"
        self.created_ns = now_ns
        self.last_used_ns = now_ns
        self.hits = 0
        self.in_flight = 0
        self.closed = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._checked: dict[str, str | Problem] = {}
        self._size = self.measure()
        # Fixed at deployment, read on every request.
        self._names = [p.service.name for p in plan.stages]
        self.stage_ids = tuple(p.service.id for p in plan.stages)  # an audit record's
        # Each stage's `Server-Timing` entry but its duration, written once.
        self._timing_names = [f's{i};desc="{name}";dur=' for i, name in enumerate(self._names)]
        self._now: list[Callable[[Message, RequestContext], Message | None] | None] = [
            getattr(stage, "invoke_now", None) for stage in stages
        ]
        # Per stage, the content types it was handed and accepts: a python stage may
        # answer other than it declares, and a `*/*` output is only known at run time.
        self._accepted: list[set[str]] = [set() for _ in stages]
        # Request type -> the pipe for it with converters behind `same` stages
        # (auto_convert; SPEC §2), an application of its own that this one closes.
        self.for_type: dict[str, Application] = {}
        # Re-measured on a use only if some stage's size may change while in use.
        self.fixed_size = all(getattr(stage, "fixed_size", False) for stage in stages)

    def server_timing(self, timings: list[StageTiming]) -> str:
        """The `Server-Timing` header of a request's stage timings (SPEC §2)."""
        names = self._timing_names
        return ", ".join([f"{names[t.index]}{t.ms:.2f}" for t in timings])

    @property
    def service_ids(self) -> frozenset[str]:
        return frozenset(s.service.id for s in self.plan.stages)

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def canonical(self) -> str:
        return self.plan.canonical

    def size_bytes(self) -> int:
        """The estimate as last measured (at deployment, then at each use)."""
        return self._size

    def measure(self) -> int:
        """Estimated memory: what each stage says it holds, plus the bookkeeping."""
        text = sys.getsizeof(self.plan.canonical) + sys.getsizeof(self.plan.key)
        stages = sum(s.size_bytes() for s in self.stages)
        return BASE_BYTES + text + STAGE_BYTES * len(self.stages) + stages

    def remeasure(self) -> int:
        """Measure again (a stage's pool grows under concurrent use); the new estimate.
        Called through `AppServer.remeasure`, which keeps the app server's total."""
        self._size = self.measure()
        return self._size

    def output_for(self, content_type: str) -> str:
        """Type-check the pipe for this request type, once a type (SPEC §2); raise its problem."""
        media = mediatype.normalize(content_type)
        known = self._checked.get(media)
        if known is None:
            try:
                known = check(self.plan.stages, media)
            except Problem as problem:
                known = problem
            if len(self._checked) < 64:  # a client cycling types cannot grow this forever
                self._checked[media] = known
        if isinstance(known, Problem):
            raise known
        return known

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def invoke(
        self,
        message: Message,
        request: RequestContext,
        *,
        timeout_s: float,
        on_stage: Callable[[str, float], None] | None = None,
        tracer: StageTracer | None = None,
    ) -> tuple[Message, list[StageTiming]]:
        """Pipe `message` through the stages; each stage's problem names it (SPEC §2).

        A stage that can answer at once (`invoke_now`: no I/O, work small enough for the
        event loop) is called directly; only one that awaits gets the deadline
        `timeout_s` (an inline call cannot be interrupted, so a deadline around it would
        cost without bounding anything). With a `tracer`, each stage runs in a span of its
        own, and its outgoing call carries that span's `traceparent`, not the client's.
        `on_stage(service name, seconds)` is told of each stage that answered."""
        timings: list[StageTiming] = []
        planned = self.plan.stages
        clock = time.perf_counter
        for index, stage in enumerate(self.stages):
            if index and message.content_type not in self._accepted[index]:
                self._check_input(index, message)
            started = clock()
            try:
                if tracer is not None:
                    message = await self._traced(index, stage, message, request, timeout_s, tracer)
                else:
                    now = self._now[index]
                    answer = now(message, request) if now is not None else None
                    if answer is None:
                        async with asyncio.timeout(timeout_s):
                            answer = await stage.invoke(message, request)
                    message = answer
            except TimeoutError:
                service = planned[index].service
                raise StageTimeout(
                    f"stage {index} ({service.id}) did not answer within {timeout_s:g} s",
                    stage=index,
                    service=service.id,
                    timeout_s=timeout_s,
                ) from None
            except StageError as e:
                raise e.problem(index, planned[index].service.id) from None
            except Problem:
                raise
            except Exception as e:
                service = planned[index].service
                log.exception("stage %d (%s) raised", index, service.id)
                raise StageFailed(
                    f"stage {index} ({service.id}) failed: {type(e).__name__}",
                    stage=index,
                    service=service.id,
                    reason=f"{type(e).__name__}: {e}"[:500],
                ) from None
            seconds = clock() - started
            timings.append(StageTiming(index, self._names[index], seconds * 1000))
            if on_stage is not None:
                on_stage(self._names[index], seconds)
        return message, timings

    async def _traced(
        self,
        index: int,
        stage: Stage,
        message: Message,
        request: RequestContext,
        timeout_s: float,
        tracer: StageTracer,
    ) -> Message:
        with tracer.stage(index, self._names[index], request.traceparent) as traceparent:
            given = (
                request
                if traceparent == request.traceparent
                else dataclasses.replace(request, traceparent=traceparent)
            )
            now = self._now[index]
            answer = now(message, given) if now is not None else None
            if answer is None:
                async with asyncio.timeout(timeout_s):
                    answer = await stage.invoke(message, given)
            return answer

    def _check_input(self, index: int, message: Message) -> None:
        """StageFailed when stage `index` does not accept what the one before answered
        (remembered when it does: at most 16 content types a stage)."""
        service = self.plan.stages[index].service
        if mediatype.accepts(service.input, message.media_type):
            if len(self._accepted[index]) < 16:
                self._accepted[index].add(message.content_type)
            return
        prev = self.plan.stages[index - 1].service
        raise StageFailed(
            f"stage {index - 1} ({prev.id}) answered {message.media_type}, which "
            f"stage {index} ({service.id}) does not accept ({', '.join(service.input)})",
            stage=index - 1,
            service=prev.id,
            reason=f"output {message.media_type} not accepted by the next stage",
        )

    async def close(self) -> None:
        """Wait for requests in flight, then close every stage's resources."""
        if self.closed:
            return
        self.closed = True
        await self._idle.wait()
        for variant in self.for_type.values():
            await variant.close()
        for stage in self.stages:
            try:
                await stage.close()
            except Exception:
                log.exception("closing a stage of %s failed", self.key)

    def record(self) -> dict[str, Any]:
        """The application as `GET /applications` shows it (SPEC §5)."""
        return {
            "key": self.key,
            "canonical": self.canonical,
            "endpoint": self.endpoint,
            "app_server": self.app_server,
            "node": self.node,
            "stages": [s.service.id for s in self.plan.stages],
            "input": list(self.plan.input),
            "output": self.plan.output,
            "created": rfc3339(self.created_ns),
            "last_used": rfc3339(self.last_used_ns),
            "hits": self.hits,
            "in_flight": self.in_flight,
            "size_bytes": self.size_bytes(),
        }


def rfc3339(ns: int) -> str:
    dt = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")
