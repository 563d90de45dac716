"""Converters put into a pipe where a link does not fit (`[assembler] auto_convert`, SPEC §2).

At assembly only links whose incoming type is known from the header are looked at: an
application is named by its header alone. Behind leading `same` stages the incoming type
is the request's: those links get converters per request type (`request_type`), in a
pipe the application keeps beside its own for that type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from appserver.plan import PlannedStage
from assembler.arguments import bind
from assembler.resolve import io_matches
from igwcore import mediatype
from igwcore.descriptor import ByIO, canonical_descriptor
from repository.entry import ServiceEntry

SAME = mediatype.SAME
ANY = mediatype.ANY


def insert_converters(
    stages: Sequence[PlannedStage],
    converters: Sequence[ServiceEntry],
    request_type: str | None = None,
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

    With `request_type`, the links behind leading `same` stages are looked at too, for
    that type: the stages an application runs for requests of that type (SPEC §2: the
    application checks its pipe once for each request type it meets; with auto_convert
    it keeps a pipe for each type that needs one converted).
    """
    planned: list[PlannedStage] = []
    current = SAME if request_type is None else mediatype.normalize(request_type)
    for stage in stages:
        if current not in (SAME, ANY) and not mediatype.accepts(stage.input, current):
            converter = _converter(current, stage.input, converters, len(planned))
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
            descriptor = canonical_descriptor(ByIO(source, mediatype.normalize(entry.output)))
            args = bind(entry, {}, stage=index)
            return PlannedStage(descriptor=descriptor, service=entry, args=args, inserted=True)
    return None
