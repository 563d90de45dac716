"""The three kinds of stage descriptor of SPEC §1, as plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ByName:
    """`name[@version][(k=v, ...)]`; `args` sorted by key, values as written (unquoted)."""

    name: str
    version: str | None = None
    args: tuple[tuple[str, str], ...] = ()

    @property
    def arguments(self) -> dict[str, str]:
        return dict(self.args)


@dataclass(frozen=True)
class ByIO:
    """`type -> type`; both normalized media types (lower case, aliases expanded)."""

    source: str
    target: str


@dataclass(frozen=True)
class ByContract:
    """`wsdl:URL#operation`; `url` canonical (scheme added, host lower case, ...)."""

    url: str
    operation: str

    @property
    def qualified(self) -> tuple[str, str, str] | None:
        """(service, port, operation) when written `Service.Port.Op`, else None."""
        parts = self.operation.split(".")
        return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


Descriptor = ByName | ByIO | ByContract
