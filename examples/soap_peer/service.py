"""What the peer offers: services of operations that each take one string and answer one.

That is the shape spyne's `@rpc(Unicode, _returns=Unicode)` wrote, which the demo's
imports and the tests were made against, so the names follow spyne's: an operation `Op`
takes the element `Op` of one parameter and answers `OpResponse` holding `OpResult`; a
service `Name` has the port, binding and port type `NameService`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SOAP_VERSIONS = ("1.1", "1.2")


class Fault(Exception):
    """A SOAP fault, its code in SOAP 1.1's words (`Client`, `Server`, `VersionMismatch`)
    with an optional subcode (`Client.SchemaValidationError` in 1.1)."""

    def __init__(self, code: str, string: str, subcode: str | None = None) -> None:
        super().__init__(string)
        self.code = code
        self.string = string
        self.subcode = subcode


@dataclass(frozen=True)
class Operation:
    name: str
    parameter: str
    call: Callable[[str | None], str]

    @property
    def response(self) -> str:
        return f"{self.name}Response"

    @property
    def result(self) -> str:
        return f"{self.name}Result"


@dataclass(frozen=True)
class Service:
    name: str
    tns: str
    operations: tuple[Operation, ...]
    soap_version: str = "1.1"

    def __post_init__(self) -> None:
        if self.soap_version not in SOAP_VERSIONS:
            raise ValueError(f"soap_version {self.soap_version!r}: not one of {SOAP_VERSIONS}")

    @property
    def port(self) -> str:
        """The name of its port, binding and port type (and of the WSDL itself)."""
        return f"{self.name}Service"

    def operation(self, name: str) -> Operation:
        return next(op for op in self.operations if op.name == name)
