"""Type-checking the pipe (SPEC §2): each stage must accept what the one before gives.

A stage whose output is `same` passes on the type it was given, so the links behind a run
of leading `same` stages depend on the request's `Content-Type`. Those links are checked
once the request's type is known (`check(stages, content_type)`), never before, and
never converted: an application is named by its header alone, so what it is made of
cannot depend on the request's type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from assembler.arguments import bind
from assembler.plan import PlannedStage
from assembler.resolve import Describe, io_matches
from gateway import mediatype
from gateway.descriptor import ByIO
from gateway.problems import TypeMismatch, UnsupportedInput
from repository.entry import ServiceEntry

SAME = mediatype.SAME
ANY = mediatype.ANY


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


def insert_converters(
    stages: Sequence[PlannedStage],
    converters: Sequence[ServiceEntry],
    describe: Describe,
) -> tuple[PlannedStage, ...]:
    """The pipe with a converter put in each link that does not fit, where one is unique.

    Only links whose incoming type is known from the header are looked at (not those behind
    leading `same` stages, nor behind an output of `*/*`, which fits anything at assembly).
    For a stage that accepts several types, they are tried in its listed order, and the
    first for which exactly one converter (newest version) takes the incoming type is used;
    a listed pattern such as `application/*` counts as one target, so it is used only when
    exactly one converter gives a type under it. Where no type has exactly one converter,
    the link is left as it is, for `check` to report. The inserted stage is described as
    `A -> B` (its by-IO descriptor) and takes its defaults as arguments.
    """
    planned: list[PlannedStage] = []
    current = SAME
    for stage in stages:
        if current not in (SAME, ANY) and not mediatype.accepts(stage.input, current):
            converter = _converter(current, stage.input, converters, describe, len(planned))
            if converter is not None:
                planned.append(converter)
                current = converter.output
        planned.append(stage)
        if stage.output != SAME:
            current = stage.output
    return tuple(planned)


def _converter(
    source: str,
    targets: Iterable[str],
    converters: Sequence[ServiceEntry],
    describe: Describe,
    index: int,
) -> PlannedStage | None:
    for pattern in targets:
        if pattern == ANY:
            continue  # a stage that accepts `*/*` never needs a converter
        usable = [
            e
            for e in converters
            if e.output not in (SAME, ANY) and mediatype.matches(pattern, e.output)
        ]
        outputs = {mediatype.normalize(e.output) for e in usable}
        matches = [m for target in outputs for m in io_matches(usable, source, target)]
        if len(matches) == 1:
            (entry,) = matches
            descriptor = describe(ByIO(source, mediatype.normalize(entry.output)))
            args = bind(entry, {}, stage=index)
            return PlannedStage(descriptor=descriptor, service=entry, args=args, inserted=True)
    return None
