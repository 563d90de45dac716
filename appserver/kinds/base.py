"""The protocol every service kind implements, what a kind is given to deploy with, and
an argument as the text a stage writes it as.

Deploying compiles what the stage needs once (schemas, stylesheets, HTTP sessions, WSDL
clients); the returned `Stage` is invoked once a message and closed when its application
goes. A kind sees no configuration file: the gateway hands it plain values (`DeployEnv`).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from appserver.connections import Connection
from appserver.sandbox import Sandbox
from igwcore.message import Message, RequestContext
from igwcore.problems import StageError
from repository.entry import ServiceEntry
from repository.fetch import FetchPolicy


def argument_text(value: Any) -> str:
    """A descriptor argument as the text written into a URL, header, cookie or XML element:
    a string as it is, `true`/`false`, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


T = TypeVar("T")
STAGE_MEMORY_BYTES = 268_435_456  # [gateway] stage_memory_bytes's default
PYTHON_THREADS = 16  # python services blocking at once; more wait for a thread
STAGE_THREADS = 4  # for stages' bounded in-process work (a large SOAP mapping)


@dataclass
class DeployEnv:
    """What a kind may use when it deploys a stage: the operator's connections, the
    `[services.NAME]` tables, the limits every stage keeps, and caches shared by every
    application (a parsed WSDL, say) keyed by the kind."""

    connections: Mapping[str, Connection] = field(default_factory=dict)
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    max_body_bytes: int = 10_485_760  # [gateway] max_body_bytes: a stage's answer at most
    stage_timeout_s: float = 30.0  # [gateway] stage_timeout_s
    # Where an imported entry's WSDL may be (re)loaded from: any http(s) host; and a
    # fetched one's (a `wsdl:` stage's, SPEC §10.3): only `[assembler] fetch_wsdl_hosts`.
    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    contract_fetch: FetchPolicy = field(default_factory=lambda: FetchPolicy(hosts=frozenset()))
    # [repository] python_modules: the modules whose functions and classes python entries
    # may run, besides the built-ins' (SPEC §10.2).
    python_modules: tuple[str, ...] = ()
    # Where client-supplied work runs (SPEC §10.4): killable processes held to
    # [gateway] stage_memory_bytes, and threads of their own for python services and for
    # stages' bounded work, so that none of it can fill the gateway's own executor.
    isolation: Sandbox = field(default_factory=lambda: Sandbox(STAGE_MEMORY_BYTES))
    python_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(PYTHON_THREADS, "igw-python-service")
    )
    stage_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(STAGE_THREADS, "igw-stage")
    )
    shared: dict[str, Any] = field(default_factory=dict)

    def connection(self, entry: ServiceEntry) -> Connection | None:
        """The `[connections.NAME]` the entry's target names, if any; a name the operator
        has not configured fails the stage's deployment."""
        alias = entry.target.get("connection")
        if alias is None:
            return None
        connection = self.connections.get(alias)
        if connection is None:
            raise StageError(f"connection {alias!r} is not configured")
        return connection

    def settings_of(self, name: str) -> Mapping[str, Any]:
        """The operator's `[services.NAME]` table (empty when there is none)."""
        return self.settings.get(name, {})

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a stage thread, with this context (the request id of logs)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.stage_threads, context.run, fn, *args)

    def close(self) -> None:
        """Stop the isolation's workers and the threads, whatever they run (shutdown)."""
        self.isolation.close()
        for threads in (self.python_threads, self.stage_threads):
            threads.shutdown(wait=False, cancel_futures=True)


class Stage(Protocol):
    """A deployed stage. Besides these, a stage may have:

    - `invoke_now(message, request) -> Message | None`: the answer when it can be had at
      once — no I/O, and work small enough for the event loop (a payload under the
      built-ins' `INLINE_LIMIT`) — else None, and `invoke` is awaited. The hit path calls
      it first, and keeps the stage deadline for stages that await (SPEC §2's deadline
      bounds waiting; an inline call cannot be interrupted);
    - `fixed_size = True`: `size_bytes()` never changes once deployed, so a use does
      not measure it again.
    """

    entry: ServiceEntry

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        """Process one message. Raise `igwcore.StageError` to reject or fail."""
        ...

    def size_bytes(self) -> int:
        """Estimated memory this stage holds (compiled schemas, sessions, clients)."""
        ...

    async def close(self) -> None: ...


class Kind(Protocol):
    name: ClassVar[str]
    target_schema: ClassVar[dict[str, Any]]

    def check_target(self, target: Mapping[str, Any], env: DeployEnv) -> list[dict[str, str]]:
        """Checks of a target beyond `target_schema` (which it passed): the errors, if any."""
        ...

    def check_args(self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv) -> None:
        """Checks beyond the JSON Schema, run at resolution; raise ArgumentError."""
        ...

    async def deploy(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> Stage: ...

    # A kind may also deploy at once, when deploying a stage needs no wait:
    # `deploys_at_once(entry, env) -> bool` says whether `deploy_now(entry, args, env)`
    # gives the stage (a `Stage`, or None when it must be awaited after all).
