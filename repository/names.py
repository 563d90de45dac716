"""Service names made from an imported document's own (SPEC §5): each dot-separated part
an ident, collisions numbered `_2`, `_3`... Plain functions, shared by the importers."""

from __future__ import annotations

import re

__all__ = ["ident", "ident_name", "slug", "unique"]

_NOT_IDENT_CHAR = re.compile(r"[^A-Za-z0-9_-]")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def ident(part: str) -> str:
    """One part of a name as an ident: other characters `_`, a leading digit `_`-prefixed."""
    text = _NOT_IDENT_CHAR.sub("_", part) or "_"
    if text[0].isdigit():
        return "_" + text
    if text[0] == "-":
        return "_" + text[1:]
    return text


def ident_name(name: str) -> str:
    """Each dot-separated part of `name` as an ident (SPEC §5)."""
    return ".".join(ident(part) for part in name.split("."))


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... the first not in `taken` (which it joins)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def slug(title: str) -> str:
    """A title as a prefix (SPEC §5): lower case, runs of other characters `_`
    (`Swagger Petstore` -> `swagger_petstore`)."""
    return _NOT_SLUG.sub("_", title.lower()).strip("_")
