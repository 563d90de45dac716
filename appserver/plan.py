"""A plan: what an application is made of, as resolution and the type-check decided it
(SPEC §2), and the type-check an app server runs for each request type it meets.

A stage whose output is `same` passes on the type it was given, so the links behind a run
of leading `same` stages depend on the request's `Content-Type`. Those links are checked
once the request's type is known (`check(stages, content_type)`), never before, and
never converted: an application is named by its header alone, so what it is made of
cannot depend on the request's type. Plain functions over plain data.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from igwcore import mediatype
from igwcore.problems import TypeMismatch, UnsupportedInput
from repository.entry import ServiceEntry

SAME = mediatype.SAME


@dataclass(frozen=True)
class PlannedStage:
    descriptor: str  # canonical descriptor; for an inserted converter, its `A -> B` form
    service: ServiceEntry
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)  # coerced
    inserted: bool = False  # put in by auto_convert

    @functools.cached_property
    def input(self) -> tuple[str, ...]:
        return tuple(mediatype.normalize(t) for t in self.service.input)

    @functools.cached_property
    def output(self) -> str:
        out = self.service.output
        return out if out in (mediatype.SAME, mediatype.NONE) else mediatype.normalize(out)

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


def check(stages: Sequence[PlannedStage], content_type: str | None) -> str:
    """The pipe's output media type, once every link is checked.

    With `content_type` (the request's), every link is checked: the first stage that
    cannot take what it receives raises 415 `UnsupportedInput` when that is the request's
    own type (through `same` stages only), else 422 `TypeMismatch`. The result is the
    request's type when every stage outputs `same`, and `*/*` when the last type-giving
    stage passes on whatever it receives (an http stage), which satisfies every later check.

    Without it, only the links that do not depend on the request's type are checked, and
    the result is `same` when the output is the request's type.
    """
    current = SAME if content_type is None else mediatype.normalize(content_type)
    from_request = True  # `current` is the request's own type, carried by `same` stages
    for index, stage in enumerate(stages):
        if current == mediatype.NONE:  # only a last stage may output nothing
            raise _refusal(index, stage, current, from_request=False)
        if current != SAME and not mediatype.accepts(stage.input, current):
            raise _refusal(index, stage, current, from_request=from_request)
        if stage.output != SAME:
            current, from_request = stage.output, False
    return current


def _refusal(
    index: int, stage: PlannedStage, received: str, *, from_request: bool
) -> UnsupportedInput | TypeMismatch:
    accepts = list(stage.input)
    if from_request:
        return UnsupportedInput(
            f"stage {index} ({stage.descriptor}) does not accept the request's {received}; "
            f"it accepts {', '.join(accepts)}",
            stage=index,
            accepts=accepts,
        )
    return TypeMismatch(
        f"stage {index} ({stage.descriptor}) cannot take {received} from stage {index - 1}; "
        f"it accepts {', '.join(accepts)}",
        stage=index,
        produces=received,
        expects=accepts,
    )


def accepted_inputs(stages: Sequence[PlannedStage]) -> tuple[str, ...]:
    """The media types (patterns) the pipe accepts as its input.

    The first stage's input list, narrowed by every later stage that the leading `same`
    stages hand the request's type to: the pipe takes a type only if each of them does.
    Empty when no type gets through them all.
    """
    accepted: tuple[str, ...] | None = None
    for stage in stages:
        accepted = stage.input if accepted is None else intersect(accepted, stage.input)
        if stage.output != SAME:
            break
    return accepted or ()


def intersect(left: Iterable[str], right: Iterable[str]) -> tuple[str, ...]:
    """The media types that both pattern lists accept, as patterns, in `left`'s order."""
    met: list[str] = []
    right = tuple(right)
    for a in left:
        for b in right:
            pattern = _meet(mediatype.normalize(a), mediatype.normalize(b))
            if pattern is not None and pattern not in met:
                met.append(pattern)
    # `application/json` adds nothing beside `application/*`.
    return tuple(p for p in met if not any(q != p and mediatype.matches(q, p) for q in met))


def _meet(a: str, b: str) -> str | None:
    """The narrower of two patterns when one covers the other (media type patterns nest)."""
    if mediatype.matches(a, b):
        return b
    if mediatype.matches(b, a):
        return a
    return None
