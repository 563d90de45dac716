"""The Integration-Config header: parse it into descriptors and derive the key (SPEC §1).

Plain functions over strings and descriptors. The grammar's patterns live in
igwcore/abnf.py; this module reads a value with them in one left-to-right pass. Once
that pass fails, gateway/header_errors.py explains why (offset, what was expected, what
was found). The canonical form is written by the ground: igwcore/descriptor.py for
stages, igwcore/urls.py for the URLs of by-contract stages (whose docstring says what a
URL may be).

`parse_canonical` gives descriptors, canonical form and key in one go, and reads the
common shape of header — no quotes, no tabs, bare arguments — with one pattern a stage
(`_FAST_STAGE`), writing the canonical form as it goes; anything else, or anything that
pattern does not take whole, is read by `parse` (which explains what it refuses). A
property test holds the two to the same results (tests/gateway/test_header_fast.py).

Where SPEC §1 leaves room, this module decides:
- `wsdl:` is matched case-insensitively, as ABNF matches quoted strings; it is written
  `wsdl:`.
- A quoted URL may hold "|", "#" and '"', but no space or tab.
- Spaces around a media-type parameter's `=` are allowed (SPEC §1 allows them around
  every `=`); an alias takes no parameters.
- A quoted argument value keeps its spaces and tabs; the canonical form quotes it again.
"""

from __future__ import annotations

import re

import xxhash

from gateway import header_errors
from igwcore import abnf
from igwcore.descriptor import ByContract, ByIO, ByName, Descriptor, canonical, canonical_descriptor
from igwcore.mediatype import normalize
from igwcore.problems import TooManyArgs, TooManyStages
from igwcore.urls import canonical_url_or_none

_NOT_ALLOWED = re.compile(r"[^\t\x20-\x7e]")
_OWS = re.compile(abnf.OWS)
_WSDL = re.compile(r"(?i:wsdl:)")
# To the stage's end, an unclosed quote or a "->" outside quotes, whichever comes first.
_TO_ARROW = re.compile(r'(?:[^|"\-]++|"(?:[^"\\]|\\.)*+"|-(?!>))*+')
_NAME_HEAD = re.compile(
    rf"(?P<name>{abnf.name})(?:@(?P<version>{abnf.version}))?(?P<ows>{abnf.OWS})"
)
_ARG = re.compile(
    rf"(?P<key>{abnf.key}){abnf.OWS}={abnf.OWS}"
    rf"(?:(?P<bare>{abnf.bare})|(?P<quoted>{abnf.quoted}))"
    rf"{abnf.OWS}(?P<sep>[,)]){abnf.OWS}"
)
_BY_IO = re.compile(
    rf"(?P<source>{abnf.type}){abnf.OWS}->{abnf.OWS}(?P<target>{abnf.type}){abnf.OWS}"
)
_QUOTED = re.compile(abnf.quoted)
_ESCAPED = re.compile(r'\\(["\\])')
_URL = re.compile(abnf.url)
_OPERATION = re.compile(abnf.operation)


def parse(value: str, *, max_stages: int = 32, max_args: int = 32) -> tuple[Descriptor, ...]:
    """The descriptors of an Integration-Config value, one a stage.

    First every character is checked to be printable ASCII, a space or a tab (the first
    other one is a HeaderSyntax error at its offset). Then the value is read once, left to
    right, and the first problem met is raised: a HeaderSyntax error, TooManyStages when
    stage number max_stages + 1 begins (right after its "|"), or TooManyArgs when argument
    number max_args + 1 of a stage begins. A value far over a limit thus fails at the limit
    without being read further; a syntax error before that point is reported as one.

    A HeaderSyntax error's position is the offset in `value` as given of the first
    character that no stage of its kind could have there (a stage's kind is decided first,
    as SPEC §1 says), or the start of a token that is wrong as a whole (an unknown type
    alias, a key given twice, a bad URL scheme or port); an unclosed quote is reported at
    the end of the value.
    """
    bad = None if value.isascii() and value.isprintable() else _NOT_ALLOWED.search(value)
    if bad:
        expected = "a printable ASCII character, a space or a tab"
        raise header_errors.syntax_error(value, bad.start(), expected)
    end = len(value)
    may_be_by_io = "->" in value
    stages: list[Descriptor] = []
    pos = _OWS.match(value).end()
    while True:
        if len(stages) == max_stages:
            raise TooManyStages(
                f"The header has more than {max_stages} stages; "
                f"stage {max_stages} (counting from 0) starts at offset {pos}.",
                limit=max_stages,
            )
        if _WSDL.match(value, pos):
            descriptor, pos = _by_contract(value, pos + 5)
        elif may_be_by_io and value.startswith("->", _TO_ARROW.match(value, pos).end()):
            descriptor, pos = _by_io(value, pos)
        else:
            descriptor, pos = _by_name(value, pos, len(stages), max_args)
        stages.append(descriptor)
        if pos == end:
            return tuple(stages)
        pos = _OWS.match(value, pos + 1).end()  # past the "|"


# One stage of the common shape, then its "|" (or the end): by contract with a plain URL,
# by IO, or by name with bare arguments (checked one by one with `_FAST_ARGS`). Names and
# bare values use the grammar's classes without its "no '->' inside" look-aheads: a
# stage that holds a "->" where the grammar would end a token no longer matches, and the
# full reader reads it (refusing it, or taking it as by IO).
_FAST_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*+"
_FAST_NAME = rf"{_FAST_IDENT}(?:\.{_FAST_IDENT})*+"
_FAST_BARE = r"[\x21\x23-\x26\x2a\x2b\x2d-\x3c\x3e-\x7b\x7d\x7e]++"
_FAST_STAGE = re.compile(
    rf"(?:(?i:wsdl:)(?P<url>{abnf.url})\#(?P<operation>{abnf.operation})"
    rf"|(?P<source>{abnf.type}) *->(?P<target> *{abnf.type})"
    rf"|(?P<name>{_FAST_NAME})(?:@(?P<version>{abnf.version}))?"
    rf"(?: ?\((?P<args>[^()]*)\))?)"
    r" *(?:\| *|$)"
)
_FAST_ARG = rf" *({_FAST_IDENT}) *= *({_FAST_BARE}) *"
_FAST_ARGS = re.compile(rf"(?:{_FAST_ARG},)*{_FAST_ARG}")
_FAST_ARG_PAIR = re.compile(_FAST_ARG)
_PLAIN_URL = re.compile(abnf.url)


def parse_canonical(
    value: str, *, max_stages: int = 32, max_args: int = 32
) -> tuple[tuple[Descriptor, ...], str]:
    """`parse(value)` and the canonical form of what it gives (`canonical`)."""
    fast = _parse_fast(value, max_stages, max_args)
    if fast is not None:
        return fast
    descriptors = parse(value, max_stages=max_stages, max_args=max_args)
    return descriptors, canonical(descriptors)


def _parse_fast(
    value: str, max_stages: int, max_args: int
) -> tuple[tuple[Descriptor, ...], str] | None:
    """The common shape read in one pass, or None: then `parse` reads it (and refuses
    what it must, with the error's position)."""
    if '"' in value or not (value.isascii() and value.isprintable()):
        return None
    pos = len(value) - len(value.lstrip(" "))
    end = len(value)
    descriptors: list[Descriptor] = []
    forms: list[str] = []
    while pos < end or not descriptors:
        if len(descriptors) == max_stages:
            return None
        stage = _FAST_STAGE.match(value, pos)
        if stage is None:
            return None
        url, operation, source, target, name, version, args_text = stage.groups()
        if url is not None:
            canonical_url = canonical_url_or_none(url)
            if canonical_url is None:
                return None
            descriptor: Descriptor = ByContract(canonical_url, operation)
            if _PLAIN_URL.fullmatch(canonical_url):
                form = f"wsdl:{canonical_url}#{operation}"
            else:
                form = canonical_descriptor(descriptor)
        elif name is not None:
            # Whole to its "|": a "->" could only be inside the parentheses, where no bare
            # value may hold one (`_fast_args` refuses it).
            args = _fast_args(args_text, max_args) if args_text is not None else ()
            if args is None:
                return None
            descriptor = ByName(name, version, args)
            head = name if version is None else f"{name}@{version}"
            form = f"{head}({', '.join([f'{k}={v}' for k, v in args])})" if args else head
        else:
            source, target = normalize(source), normalize(target)
            descriptor = ByIO(source, target)
            form = f"{source} -> {target}"
        descriptors.append(descriptor)
        forms.append(form)
        pos = stage.end()
        if pos == end and value.rstrip(" ").endswith("|"):
            return None  # nothing after the last "|"
    return tuple(descriptors), " | ".join(forms)


def _fast_args(text: str | None, max_args: int) -> tuple[tuple[str, str], ...] | None:
    """Bare `key=value` arguments, sorted by key; None for anything else."""
    if text is None or not text.strip(" "):
        return ()
    if "->" in text or not _FAST_ARGS.fullmatch(text):
        return None
    pairs = _FAST_ARG_PAIR.findall(text)
    if len(pairs) > max_args or len({k for k, _ in pairs}) != len(pairs):
        return None  # too many, or a key given twice: `parse` says which
    return tuple(sorted(pairs))


def key(canonical_form: str) -> str:
    """The application key: xxh3_128 (seed 0) of the UTF-8 bytes, 32 lower-case hex digits."""
    return xxhash.xxh3_128_hexdigest(canonical_form.encode())


# -- the three kinds of stage; each returns (descriptor, offset of the "|" or the end) --


def _by_name(value: str, pos: int, index: int, max_args: int) -> tuple[ByName, int]:
    head = _NAME_HEAD.match(value, pos)
    if head is None:
        raise header_errors.stage_start_error(value, pos, index)
    name, version = head.group("name", "version")
    pos = head.end()
    if pos == len(value) or value[pos] == "|":
        return ByName(name, version), pos
    if value[pos] != "(":
        raise header_errors.after_name_error(value, head)
    pos = _OWS.match(value, pos + 1).end()
    if value.startswith(")", pos):
        pos = _OWS.match(value, pos + 1).end()
        return ByName(name, version), _stage_end(value, pos)
    args: dict[str, str] = {}
    while True:
        if len(args) == max_args:
            raise TooManyArgs(
                f"Stage {index} has more than {max_args} arguments; "
                f"argument {max_args} (counting from 0) starts at offset {pos}.",
                stage=index,
                limit=max_args,
            )
        arg = _ARG.match(value, pos)
        if arg is None:
            raise header_errors.arg_error(value, pos)
        k = arg["key"]
        if k in args:
            raise header_errors.repeated_key_error(value, pos, k, index)
        quoted = arg["quoted"]
        args[k] = arg["bare"] if quoted is None else _unquote(quoted)
        pos = arg.end()
        if arg["sep"] == ")":
            return ByName(name, version, tuple(sorted(args.items()))), _stage_end(value, pos)


def _by_io(value: str, pos: int) -> tuple[ByIO, int]:
    io = _BY_IO.match(value, pos)
    if io is None or not (io.end() == len(value) or value[io.end()] == "|"):
        raise header_errors.by_io_error(value, pos)
    return ByIO(normalize(io["source"]), normalize(io["target"])), io.end()


def _by_contract(value: str, pos: int) -> tuple[ByContract, int]:
    """A by-contract stage from just after its "wsdl:"."""
    quoted = value.startswith('"', pos)
    if quoted:
        written = _QUOTED.match(value, pos)
        if written is None:
            raise header_errors.quoted_error(value, pos)
        url = _unquote(written[0])
    else:
        written = _URL.match(value, pos)
        if written is None:
            raise header_errors.contract_url_error(value, pos)
        url = written[0]
    canonical_form = canonical_url_or_none(url)
    if canonical_form is None:
        raise header_errors.url_error(url, value, pos, quoted=quoted)
    pos = written.end()
    if not value.startswith("#", pos):
        raise header_errors.hash_error(value, pos)
    operation = _OPERATION.match(value, pos + 1)
    if operation is None:
        raise header_errors.operation_error(value, pos + 1)
    pos = operation.end()
    if value.startswith(".", pos):
        raise header_errors.dotted_operation_error(value, operation)
    pos = _OWS.match(value, pos).end()
    return ByContract(canonical_form, operation[0]), _stage_end(value, pos)


def _stage_end(value: str, pos: int) -> int:
    if pos == len(value) or value[pos] == "|":
        return pos
    raise header_errors.stage_end_error(value, pos)


# -- reading values --


def _unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    return _ESCAPED.sub(r"\1", inner) if "\\" in inner else inner
