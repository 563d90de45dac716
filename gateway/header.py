"""The Integration-Config header: parse it, write its canonical form, derive the key (SPEC §1).

Plain functions over strings and descriptors. The grammar's patterns live in
gateway/abnf.py; this module reads a value with them in one left-to-right pass. Once
that pass fails, gateway/header_errors.py explains why (offset, what was expected, what
was found).

Where SPEC §1 leaves room, this module decides:
- `wsdl:` is matched case-insensitively, as ABNF matches quoted strings; it is written
  `wsdl:`.
- A URL has a scheme when `://` comes before its first `/`, `?` or `#` (a `://` in a
  query does not count), and that scheme must be an RFC 3986 scheme. A URL needs a
  host unless it names its scheme (`file:///x` parses; resolution answers it 404 with a
  reason, as SPEC §2 says); a port is at most 65535 and is written without leading
  zeros; an empty port is dropped, and so are 80 for http and 443 for https. Nothing
  else in a URL is rewritten (no percent-encoding or dot-segment normalization). A
  quoted URL may hold "|", "#" and '"', but no space or tab either.
- Spaces around a media-type parameter's `=` are allowed (SPEC §1 allows them around
  every `=`); an alias takes no parameters.
- A quoted argument value keeps its spaces and tabs; the canonical form quotes it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import xxhash

from gateway import abnf, header_errors
from gateway.descriptor import ByContract, ByIO, ByName, Descriptor
from gateway.mediatype import normalize
from gateway.problems import TooManyArgs, TooManyStages

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
_BARE = re.compile(abnf.bare)
_QUOTED = re.compile(abnf.quoted)
_ESCAPED = re.compile(r'\\(["\\])')
_URL = re.compile(abnf.url)
_OPERATION = re.compile(abnf.operation)
# A URL SPEC §1 allows, in parts (its port still to be checked against 65535). A "://"
# before the first "/", "?" or "#" must end a scheme: the lookahead refuses the URL where
# it does not.
_URL_PARTS = re.compile(
    rf"(?:(?P<scheme>{abnf.scheme})://|(?![^/?#]*://))(?P<host>{abnf.host})?+"
    r"(?::(?P<port>[0-9]*+))?+(?P<path>[/?#][\x21-\x7e]*+)?+"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


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
        return f"wsdl:{url if _URL.fullmatch(url) else _quote(url)}#{descriptor.operation}"
    raise TypeError(f"not a descriptor: {descriptor!r}")


def canonical(descriptors: Iterable[Descriptor]) -> str:
    """The canonical form of a chain: its stages' canonical forms joined by " | "."""
    return " | ".join(map(canonical_descriptor, descriptors))


def key(canonical_form: str) -> str:
    """The application key: xxh3_128 (seed 0) of the UTF-8 bytes, 32 lower-case hex digits."""
    return xxhash.xxh3_128_hexdigest(canonical_form.encode())


def canonical_url(url: str) -> str:
    """A by-contract URL (as unquoted) in SPEC §1's canonical form.

    `http://` is put in front of a URL without a scheme; scheme and host are written lower
    case, the port without leading zeros; an empty port and the scheme's default port are
    dropped, an empty path is written `/`. A URL that SPEC §1 does not allow (see the
    module's docstring: user information, no host, a space...) is returned as it is: no
    `wsdl:` stage can name it, so it has no other spelling to be compared with.
    """
    canonical_form = _canonical_url(url)
    return url if canonical_form is None else canonical_form


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
    canonical_form = _canonical_url(url)
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


# -- writing URLs and values --


def _canonical_url(url: str) -> str | None:
    """`url` (unquoted) in canonical form, or None when SPEC §1 does not allow it."""
    parts = _URL_PARTS.fullmatch(url)
    if parts is None:
        return None
    scheme, host, port, path = parts.group("scheme", "host", "port", "path")
    if host is None:
        if scheme is None:
            return None
        host = ""  # `file:///etc/x`: allowed by the grammar, refused by resolution (404)
    number = header_errors.port_number(port) if port else None
    if port and number is None:
        return None
    scheme = "http" if scheme is None else scheme.lower()
    port = str(number) if port else ""
    if _DEFAULT_PORTS.get(scheme) == port:
        port = ""
    if not path or path[0] != "/":
        path = "/" + (path or "")
    return f"{scheme}://{host.lower()}{':' if port else ''}{port}{path}"


def _canonical_value(value: str) -> str:
    return value if _BARE.fullmatch(value) else _quote(value)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    return _ESCAPED.sub(r"\1", inner) if "\\" in inner else inner
