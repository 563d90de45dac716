"""The protocol every service kind implements. Deploying compiles what the stage needs once (schemas, stylesheets, HTTP
sessions, WSDL clients); the returned `Stage` is invoked once a message and closed when
its application goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from appserver.message import Message, RequestContext
    from gateway.config import Config
    from repository.entry import ServiceEntry


@dataclass
class DeployEnv:
    """What a kind may use when it deploys a stage: the operator's configuration, and
    caches shared by every application (a parsed WSDL, say) keyed by the kind."""

    config: Config
    shared: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    entry: ServiceEntry

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        """Process one message. Raise `gateway.problems.StageError` to reject or fail."""
        ...

    def size_bytes(self) -> int:
        """Estimated memory this stage holds (compiled schemas, sessions, clients)."""
        ...

    async def close(self) -> None: ...


class Kind(Protocol):
    name: ClassVar[str]
    target_schema: ClassVar[dict[str, Any]]

    async def deploy(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> Stage: ...


