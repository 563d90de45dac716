"""The three kinds of stage descriptor of SPEC §1, as plain frozen data, and their
canonical form: the text an application's key is made from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from igwcore import abnf
from igwcore.mediatype import normalize

__all__ = ["ByContract", "ByIO", "ByName", "Descriptor", "canonical", "canonical_descriptor"]

_BARE = re.compile(abnf.bare)
_URL = re.compile(abnf.url)


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


def canonical_descriptor(descriptor: Descriptor) -> str:
    """One stage in canonical form (SPEC §1); a ByContract's url is taken as canonical."""
    if isinstance(descriptor, ByName):
        name, version = descriptor.name, descriptor.version
        head = name if version is None else f"{name}@{version}"
        if not descriptor.args:
            return head
        args = ", ".join(f"{k}={_canonical_value(v)}" for k, v in sorted(descriptor.args))
        return f"{head}({args})"
    if isinstance(descriptor, ByIO):
        return f"{normalize(descriptor.source)} -> {normalize(descriptor.target)}"
    if isinstance(descriptor, ByContract):
        url = descriptor.url
        return f"wsdl:{url if _URL.fullmatch(url) else quote(url)}#{descriptor.operation}"
    raise TypeError(f"not a descriptor: {descriptor!r}")


def canonical(descriptors: Iterable[Descriptor]) -> str:
    """The canonical form of a chain: its stages' canonical forms joined by " | "."""
    return " | ".join(map(canonical_descriptor, descriptors))


def quote(text: str) -> str:
    """`text` as a quoted value: in double quotes, with `\\"` and `\\\\` escapes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _canonical_value(value: str) -> str:
    return value if _BARE.fullmatch(value) else quote(value)
