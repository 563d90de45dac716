"""Names like one that resolved to nothing, for a 404's `suggestions` (SPEC §2): a typo's
likely meaning. Plain functions over the repository's names.

`difflib` compares the name with every candidate, and a 404 is something any client can
ask for, so it must stay cheap among a hundred thousand names: the names are grouped by
their first two characters once (`NameGroups`, made again only when the names change),
and only a group's names are compared, at most `COMPARED` of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["NameGroups", "similar_names"]

COMPARED = 2000
CUTOFF = 0.75


class NameGroups:
    def __init__(self, names: Iterable[str]) -> None:
        self.groups: dict[str, list[str]] = {}
        for name in sorted(names):
            self.groups.setdefault(name[:2], []).append(name)

    def like(self, name: str) -> list[str]:
        return self.groups.get(name[:2], [])[:COMPARED]


def similar_names(name: str, groups: NameGroups, *, limit: int = 10) -> list[str]:
    """Up to `limit` names most like `name` (sharing its first two characters), the
    closest first."""
    return difflib.get_close_matches(name, groups.like(name), n=limit, cutoff=CUTOFF)
