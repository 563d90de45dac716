"""A plan: what resolution and the type-check decided an application is made of."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway import mediatype
from repository.entry import ServiceEntry


@dataclass(frozen=True)
class PlannedStage:
    descriptor: str  # canonical descriptor; for an inserted converter, its `A -> B` form
    service: ServiceEntry
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)  # coerced
    inserted: bool = False  # put in by auto_convert

    @property
    def input(self) -> tuple[str, ...]:
        return tuple(mediatype.normalize(t) for t in self.service.input)

    @property
    def output(self) -> str:
        out = self.service.output
        return out if out == mediatype.SAME else mediatype.normalize(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "descriptor": self.descriptor,
            "service": self.service.id,
            "input": list(self.input),
            "output": self.output,
            **({"inserted": True} if self.inserted else {}),
        }


@dataclass(frozen=True)
class Plan:
    canonical: str
    key: str
    stages: tuple[PlannedStage, ...]
    input: tuple[str, ...]  # media types the pipe accepts (SPEC §5 /resolve)
    output: str  # the last stage's output; "same" resolved when the request type is known

    def to_json(self) -> dict[str, Any]:
        return {
            "canonical": self.canonical,
            "key": self.key,
            "input": list(self.input),
            "output": self.output,
            "stages": [s.to_json() for s in self.stages],
        }
