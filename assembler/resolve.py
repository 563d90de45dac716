"""Resolution (SPEC §2): each descriptor of a chain to exactly one enabled service entry.

Plain functions over plain data: the repository is reached through `Entries`, which
`assembler.assemble.RepositoryEntries` makes of the repository and a test makes of a
list.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from packaging.version import InvalidVersion, Version

from appserver.plan import PlannedStage
from assembler.arguments import bind
from igwcore import mediatype
from igwcore.descriptor import ByContract, ByIO, ByName, Descriptor, canonical_descriptor
from igwcore.problems import AmbiguousService, ArgumentError, ServiceNotFound
from repository.entry import ServiceEntry

CheckArgs = Callable[[ServiceEntry, Mapping[str, Any]], None]
"""A kind's checks beyond the schema; raises `igwcore.ArgumentError`."""

# How many signatures a 404's detail spells out before it says "and N more".
DETAIL_LIMIT = 5


class Entries(Protocol):
    """The repository's entries as resolution asks for them. Disabled ones never come."""

    def by_name(self, name: str) -> Sequence[ServiceEntry]:
        """The enabled entries called `name`, every version."""
        ...

    def converters(self) -> Sequence[ServiceEntry]:
        """The enabled entries with `converter: true`."""
        ...

    def by_contract(self, url: str, operation: str) -> Sequence[ServiceEntry]:
        """The enabled SOAP entries for that (canonical) WSDL URL and `Op` or `Service.Port.Op`.

        May raise `LookupError(reason)` to say why there are none (a WSDL that cannot be
        had): it becomes the 404's `reason`.
        """
        ...


def resolve(
    descriptors: Iterable[Descriptor],
    entries: Entries,
    *,
    check_args: CheckArgs | None = None,
) -> tuple[PlannedStage, ...]:
    """Every stage resolved and its arguments bound; the first failing stage raises.

    Raises 404 `ServiceNotFound`, 409 `AmbiguousService` or 422 `InvalidParameter`.
    """
    return tuple(
        resolve_stage(index, descriptor, entries, check_args=check_args)
        for index, descriptor in enumerate(descriptors)
    )


def resolve_stage(
    index: int,
    descriptor: Descriptor,
    entries: Entries,
    *,
    check_args: CheckArgs | None = None,
) -> PlannedStage:
    """One stage: its entry, then its arguments coerced, validated and checked by the kind."""
    canonical = canonical_descriptor(descriptor)
    given: Mapping[str, str] = {}
    match descriptor:
        case ByName():
            entry = _by_name(index, canonical, descriptor, entries)
            given = descriptor.arguments
        case ByIO():
            entry = _by_io(index, canonical, descriptor, entries)
        case ByContract():
            entry = _by_contract(index, canonical, descriptor, entries)
        case _:
            raise TypeError(f"not a descriptor: {descriptor!r}")
    args = bind(entry, given, stage=index)
    if check_args is not None:
        _check(index, entry, args, check_args)
    return PlannedStage(descriptor=canonical, service=entry, args=args)


# -- versions -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # versions come from entries: a bounded few
def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: PEP 440 order, and every non-PEP 440 version below them, by string."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def same_version(entry_version: str, pinned: str) -> bool:
    """Whether `name@pinned` names this entry: PEP 440 equality (`1.0` is `1.0.0`), else
    the exact string."""
    try:
        return Version(entry_version) == Version(pinned)
    except InvalidVersion:
        return entry_version == pinned


def newest_per_signature(
    entries: Iterable[ServiceEntry],
    signature: Callable[[ServiceEntry], Hashable] = lambda e: frozenset(e.params),
) -> list[ServiceEntry]:
    """Of the entries sharing a signature, the newest; entries tied for newest all stay
    (and so stay ambiguous), except that an entry listed twice counts once."""
    groups: dict[Hashable, list[ServiceEntry]] = {}
    for entry in entries:
        group = groups.setdefault(signature(entry), [])
        if entry not in group:
            group.append(entry)
    kept: list[ServiceEntry] = []
    for group in groups.values():
        newest = max(version_key(e.version) for e in group)
        kept.extend(e for e in group if version_key(e.version) == newest)
    return kept


# -- by name ------------------------------------------------------------------------------


def fits(entry: ServiceEntry, given: Iterable[str]) -> bool:
    """Overload matching: every argument is a parameter, every other parameter has a default."""
    names = set(given)
    return names <= set(entry.params) and all(
        "default" in schema for name, schema in entry.params.items() if name not in names
    )


def name_matches(entries: Iterable[ServiceEntry], descriptor: ByName) -> list[ServiceEntry]:
    """The entries a by-name descriptor can mean, newest version of each signature.

    An ambiguous descriptor lists these as its candidates: one per signature, which is
    what a client needs to choose by giving arguments (or a version, to pin an older one).
    """
    given = [key for key, _ in descriptor.args]
    if isinstance(entries, Sequence) and len(entries) == 1:
        # One entry of that name (the usual case): nothing to choose between.
        (entry,) = entries
        if entry.enabled and descriptor.version is None and fits(entry, given):
            return [entry]
    return newest_per_signature(
        e
        for e in entries
        if e.enabled
        and (descriptor.version is None or same_version(e.version, descriptor.version))
        and fits(e, given)
    )


def _by_name(index: int, canonical: str, descriptor: ByName, entries: Entries) -> ServiceEntry:
    named = [e for e in entries.by_name(descriptor.name) if e.enabled]
    matches = name_matches(named, descriptor)
    if not matches:
        raise ServiceNotFound(_name_not_found(descriptor, named), stage=index, descriptor=canonical)
    return _one(
        index,
        canonical,
        matches,
        hint="give a version or arguments that only one of them takes",
    )


def _name_not_found(descriptor: ByName, named: list[ServiceEntry]) -> str:
    name = descriptor.name
    if not named:
        return f"no service is called {name!r}"
    if descriptor.version is not None:
        versioned = [e for e in named if same_version(e.version, descriptor.version)]
        if not versioned:
            versions = sorted({e.version for e in named}, key=version_key, reverse=True)
            return f"{name!r} has no version {descriptor.version}; it has {_listed(versions)}"
        named = versioned
    given = sorted(key for key, _ in descriptor.args)
    taking = f"the arguments ({', '.join(given)})" if given else "no arguments"
    signatures = [_signature(e) for e in newest_per_signature(named)]
    return f"no version of {name!r} takes {taking}: {_listed(signatures, sep='; ')}"


def _signature(entry: ServiceEntry) -> str:
    params = sorted(entry.params)
    required = [p for p in params if "default" not in entry.params[p]]
    text = f"{entry.id} takes " + (", ".join(params) if params else "no arguments")
    return text + (f" and needs {', '.join(required)}" if required else "")


def _listed(items: Sequence[str], sep: str = ", ") -> str:
    shown = sep.join(items[:DETAIL_LIMIT])
    more = len(items) - DETAIL_LIMIT
    return shown + (f"{sep}and {more} more" if more > 0 else "")


# -- by IO type ---------------------------------------------------------------------------


def converts(entry: ServiceEntry, source: str, target: str) -> bool:
    """Whether a converter takes `source` and gives `target` (SPEC §2, by IO type)."""
    return (
        entry.converter
        and any(mediatype.matches(pattern, source) for pattern in entry.input)
        and entry.output != mediatype.SAME
        and mediatype.normalize(entry.output) == mediatype.normalize(target)
    )


def io_matches(converters: Iterable[ServiceEntry], source: str, target: str) -> list[ServiceEntry]:
    """The converters a `source -> target` descriptor can mean.

    Only converters whose parameters all have defaults count (the descriptor gives no
    arguments), and of one converter's versions only the newest (so that publishing a new
    version of `json_to_xml` does not make `JSON -> XML` ambiguous).
    """
    return newest_per_signature(
        (e for e in converters if e.enabled and converts(e, source, target) and fits(e, ())),
        signature=lambda e: (e.name, frozenset(e.params)),
    )


def _by_io(index: int, canonical: str, descriptor: ByIO, entries: Entries) -> ServiceEntry:
    converters = entries.converters()
    matches = io_matches(converters, descriptor.source, descriptor.target)
    if not matches:
        detail = f"no converter takes {descriptor.source} and gives {descriptor.target}"
        needy = [
            e.id
            for e in converters
            if e.enabled and converts(e, descriptor.source, descriptor.target)
        ]
        if needy:
            detail += f" without arguments ({_listed(needy)} only with some: name it instead)"
        raise ServiceNotFound(detail, stage=index, descriptor=canonical)
    return _one(index, canonical, matches, hint="name the one to use instead")


# -- by contract --------------------------------------------------------------------------


def _by_contract(
    index: int, canonical: str, descriptor: ByContract, entries: Entries
) -> ServiceEntry:
    try:
        matches = [
            e for e in entries.by_contract(descriptor.url, descriptor.operation) if e.enabled
        ]
    except LookupError as e:
        reason = str(e.args[0]) if e.args else "the WSDL is not available"
        raise ServiceNotFound(
            f"{descriptor.url} cannot be used: {reason}",
            stage=index,
            descriptor=canonical,
            reason=reason,
        ) from e
    if not matches:
        reason = f"no imported WSDL at this URL has an operation {descriptor.operation!r}"
        raise ServiceNotFound(
            f"{descriptor.url}: {reason}", stage=index, descriptor=canonical, reason=reason
        )
    return _one(index, canonical, matches, hint="qualify the operation as Service.Port.Op")


# -- common -------------------------------------------------------------------------------


def _one(index: int, canonical: str, matches: Sequence[ServiceEntry], *, hint: str) -> ServiceEntry:
    if len(matches) == 1:
        return matches[0]
    candidates = sorted(matches, key=lambda e: e.id)
    raise AmbiguousService(
        f"{len(candidates)} services match {canonical!r} "
        f"({', '.join(e.id for e in candidates)}): {hint}",
        stage=index,
        descriptor=canonical,
        candidates=[e.candidate() for e in candidates],
    )


def _check(index: int, entry: ServiceEntry, args: Mapping[str, Any], check_args: CheckArgs) -> None:
    try:
        check_args(entry, args)
    except ArgumentError as e:
        raise e.problem(index, entry.id) from e
