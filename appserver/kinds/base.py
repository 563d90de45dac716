"""The protocol every service kind implements.

Deploying compiles what the stage needs once (schemas, stylesheets, HTTP sessions, WSDL
clients); the returned `Stage` is invoked once a message and closed when its application
goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from appserver.message import Message, RequestContext
    from gateway.config import Config, Connection
    from gateway.problems import InvalidParameter
    from repository.entry import ServiceEntry


@dataclass
class DeployEnv:
    """What a kind may use when it deploys a stage: the operator's configuration, and
    caches shared by every application (a parsed WSDL, say) keyed by the kind."""

    config: Config
    shared: dict[str, Any] = field(default_factory=dict)

    def connection(self, entry: ServiceEntry) -> Connection | None:
        """The `[connections.NAME]` the entry's target names, if any; a name the operator
        has not configured fails the stage's deployment."""
        from gateway.problems import StageError

        alias = entry.target.get("connection")
        if alias is None:
            return None
        connection = self.config.connections.get(alias)
        if connection is None:
            raise StageError(f"connection {alias!r} is not configured")
        return connection


class ArgumentError(ValueError):
    """A descriptor argument that its schema allows but the service cannot use (a logger
    file outside its folder, a stylesheet that does not parse): 422 /invalid-parameter."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason

    def problem(self, stage: int, service: str) -> InvalidParameter:
        from gateway.problems import InvalidParameter

        return InvalidParameter(
            f"stage {stage} ({service}): argument {self.parameter!r} is invalid: {self.reason}",
            stage=stage,
            parameter=self.parameter,
            reason=self.reason,
        )


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

    def check_args(self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv) -> None:
        """Checks beyond the JSON Schema, run at resolution; raise ArgumentError."""
        ...

    async def deploy(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> Stage: ...
