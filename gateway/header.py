"""The Integration-Config header: parse it, write its canonical form, derive the key (SPEC §1).

Plain functions over strings and descriptors. The grammar's patterns live in
gateway/abnf.py; this module reads a value with them in one left-to-right pass, and
explains a failure (offset, what was expected, what was found) only once one happens.

Where SPEC §1 leaves room, this module decides:
- `wsdl:` is matched case-insensitively, as ABNF matches quoted strings; it is written
  `wsdl:`.
- A URL has a scheme when `://` comes before its first `/`, `?` or `#` (a `://` in a
  query does not count), and that scheme must be an RFC 3986 scheme. A URL needs a host;
  a port is at most 65535 and is written without leading zeros; an empty port is
  dropped, and so are 80 for http and 443 for https. Nothing else in a URL is rewritten
  (no percent-encoding or dot-segment normalization). A quoted URL may hold "|", "#" and
  '"', but no space or tab either.
- Spaces around a media-type parameter's `=` are allowed (SPEC §1 allows them around
  every `=`); an alias takes no parameters.
- A quoted argument value keeps its spaces and tabs; the canonical form quotes it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import xxhash

from gateway import abnf
from gateway.descriptor import ByContract, ByIO, ByName, Descriptor
from gateway.mediatype import normalize
from gateway.problems import HeaderSyntax, TooManyArgs, TooManyStages

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
_IDENT = re.compile(abnf.ident)
_BARE = re.compile(abnf.bare)
_QUOTED = re.compile(abnf.quoted)
_QUOTED_OPEN = re.compile(abnf.quoted[:-1])  # a quoted value up to where it stops
_ESCAPED = re.compile(r'\\(["\\])')
_MTOKEN = re.compile(abnf.mtoken)
_QUOTED_STRING = re.compile(abnf.quoted_string)
_ALIAS = re.compile(abnf.alias)
_URL = re.compile(abnf.url)
_OPERATION = re.compile(abnf.operation)
_DOTTED = re.compile(rf"(?:\.{abnf.ident})*+")
_SCHEME_END = re.compile(r"([^/?#]*)://")
_SCHEME = re.compile(abnf.scheme)
_AUTHORITY = re.compile(r"[^/?#]*+")
_HOST = re.compile(abnf.host)
_PORT = re.compile(abnf.port)
_NOT_VCHAR = re.compile(r"[^\x21-\x7e]")
# The URLs that need no explaining, in one match; _url_parts takes the others.
_URL_PARTS = re.compile(
    rf"(?:(?P<scheme>{abnf.scheme})://)?(?P<host>{abnf.host})"
    r"(?::(?P<port>[0-9]++))?(?P<path>[/?#][\x21-\x7e]*+)?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}

_END = "'|' or the end of the value"
_TYPE = "a type: an alias such as JSON or a media type such as text/csv"
_QUOTING = (
    "A value with spaces, quotes, '=', ',', '(', ')', '|' or '->' is written in double "
    'quotes: key="a value".'
)
_IS_BY_IO = (
    "This stage contains '->' outside quotes, so it is read as 'type -> type'; "
    "if '->' belongs to an argument value, quote the value."
)


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
        raise _syntax(value, bad.start(), "a printable ASCII character, a space or a tab")
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


# -- the three kinds of stage; each returns (descriptor, offset of the "|" or the end) --


def _by_name(value: str, pos: int, index: int, max_args: int) -> tuple[ByName, int]:
    head = _NAME_HEAD.match(value, pos)
    if head is None:
        raise _stage_start_error(value, pos, index)
    name, version = head.group("name", "version")
    pos = head.end()
    if pos == len(value) or value[pos] == "|":
        return ByName(name, version), pos
    if value[pos] != "(":
        raise _after_name_error(value, head)
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
            raise _arg_error(value, pos)
        k = arg["key"]
        if k in args:
            raise _syntax(
                value,
                pos,
                "an argument key not given before in this stage",
                f"The key {k!r} is given twice in stage {index}.",
            )
        quoted = arg["quoted"]
        args[k] = arg["bare"] if quoted is None else _unquote(quoted)
        pos = arg.end()
        if arg["sep"] == ")":
            return ByName(name, version, tuple(sorted(args.items()))), _stage_end(value, pos)


def _by_io(value: str, pos: int) -> tuple[ByIO, int]:
    io = _BY_IO.match(value, pos)
    if io is None or not (io.end() == len(value) or value[io.end()] == "|"):
        raise _by_io_error(value, pos)
    return ByIO(normalize(io["source"]), normalize(io["target"])), io.end()


def _by_contract(value: str, pos: int) -> tuple[ByContract, int]:
    """A by-contract stage from just after its "wsdl:"."""
    if value.startswith('"', pos):
        quoted = _QUOTED.match(value, pos)
        if quoted is None:
            raise _quoted_error(value, pos)
        url = _canonical_url(_unquote(quoted[0]), value, pos, quoted=True)
        pos = quoted.end()
    else:
        bare = _URL.match(value, pos)
        if bare is None:
            hint = "Nothing may stand between 'wsdl:' and the URL." if _space_at(value, pos) else ""
            raise _syntax(value, pos, "a URL or a quoted URL after 'wsdl:'", hint)
        url = _canonical_url(bare[0], value, pos, quoted=False)
        pos = bare.end()
    if not value.startswith("#", pos):
        if _space_at(value, pos):
            hint = "Spaces are not allowed inside a URL nor around '#'."
        elif value.startswith('"', pos):
            hint = "A URL with '\"', '#' or '|' is written in double quotes: wsdl:\"URL\"#Op."
        else:
            hint = "A by-contract stage is wsdl:URL#Operation."
        raise _syntax(value, pos, "'#' and an operation", hint)
    operation = _OPERATION.match(value, pos + 1)
    if operation is None:
        hint = "Spaces are not allowed around '#'." if _space_at(value, pos + 1) else ""
        raise _syntax(value, pos + 1, "an operation: Op or Service.Port.Op", hint)
    pos = operation.end()
    if value.startswith(".", pos):
        raise _operation_error(value, operation)
    pos = _OWS.match(value, pos).end()
    return ByContract(url, operation[0]), _stage_end(value, pos)


def _canonical_url(url: str, value: str, start: int, *, quoted: bool) -> str:
    """`url` (unquoted) in canonical form; it was written at `start` in `value`."""
    parts = _URL_PARTS.fullmatch(url)
    if parts is None or (parts["port"] is not None and int(parts["port"]) > 65535):
        scheme, host, port, path = _url_parts(url, value, start, quoted=quoted)
    else:
        scheme, host, port, path = parts.group("scheme", "host", "port", "path")
    scheme = "http" if scheme is None else scheme.lower()
    port = str(int(port)) if port else ""
    if _DEFAULT_PORTS.get(scheme) == port:
        port = ""
    if not path or path[0] != "/":
        path = "/" + (path or "")
    return f"{scheme}://{host.lower()}{':' if port else ''}{port}{path}"


def _url_parts(
    url: str, value: str, start: int, *, quoted: bool
) -> tuple[str | None, str, str | None, str]:
    """(scheme, host, port, path) of a URL that the fast pattern did not take, or the error."""

    def fail(i: int, expected: str, hint: str = "") -> HeaderSyntax:
        offset = start + i
        if quoted:  # escapes make the URL shorter than what was written
            offset = start + 1
            for _ in range(i):
                offset += 2 if value[offset] == "\\" else 1
        return _syntax(value, offset, expected, hint)

    bad = _NOT_VCHAR.search(url)
    if bad:
        raise fail(bad.start(), "a URL character", "Spaces are not allowed inside a URL.")
    if not url:
        raise fail(0, "a URL")
    scheme_end = _SCHEME_END.match(url)
    if scheme_end is None:
        scheme, i = None, 0
    elif _SCHEME.fullmatch(url, 0, scheme_end.end(1)):
        scheme, i = scheme_end[1], scheme_end.end()
    else:
        raise fail(0, "a URL scheme: a letter, then letters, digits, '+', '-' or '.'")
    j = _AUTHORITY.match(url, i).end()
    userinfo = url.find("@", i, j)
    if userinfo >= 0:
        raise fail(userinfo, "a host without user information", "'user@host' is not allowed.")
    host = _HOST.match(url, i)
    if host is None:
        raise fail(i, "a host")
    port = None
    if host.end() < j:
        if url[host.end()] != ":":
            raise fail(host.end(), "a host name character, ':' and a port, or the path")
        digits = _PORT.match(url, host.end() + 1)
        if digits.end() < j:
            raise fail(digits.end(), "a port number (digits)")
        if digits[0] and int(digits[0]) > 65535:
            raise fail(digits.start(), "a port number up to 65535")
        port = digits[0]
    return scheme, host[0], port, url[j:]


# -- writing values --


def _canonical_value(value: str) -> str:
    return value if _BARE.fullmatch(value) else _quote(value)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    return _ESCAPED.sub(r"\1", inner) if "\\" in inner else inner


# -- explaining a failure: called only once the fast path has failed --


def _syntax(value: str, pos: int, expected: str, hint: str = "") -> HeaderSyntax:
    if pos >= len(value):
        found = "the end of the value"
    else:
        c = value[pos]
        if c == " ":
            found = "a space"
        elif c == "\t":
            found = "a tab"
        elif " " < c <= "~":
            found = repr(c)
        else:
            found = f"{c!r} (U+{ord(c):04X})"
    before = value[max(0, pos - 30) : pos]
    if before:
        found += f" after {'...' if pos > 30 else ''}{before!r}"
    detail = f"Expected {expected} at offset {pos}, found {found}." + (f" {hint}" if hint else "")
    return HeaderSyntax(detail, position=pos, expected=expected)


def _space_at(value: str, pos: int) -> bool:
    return value.startswith((" ", "\t"), pos)


def _stage_end(value: str, pos: int) -> int:
    if pos == len(value) or value[pos] == "|":
        return pos
    raise _syntax(value, pos, _END)


def _stage_start_error(value: str, pos: int, index: int) -> HeaderSyntax:
    expected = "a service name, 'wsdl:' or a media type"
    if pos < len(value) and value[pos] != "|":
        return _syntax(value, pos, expected, "A service name starts with a letter or '_'.")
    if index == 0 and pos == len(value):
        hint = "The header has no stage."
    elif pos == len(value):
        hint = "A '|' at the end leaves an empty stage."
    else:
        hint = "An empty stage: remove the extra '|'."
    return _syntax(value, pos, expected, hint)


def _after_name_error(value: str, head: re.Match[str]) -> HeaderSyntax:
    pos = head.end()
    if head["ows"]:
        hint = "Spaces are not allowed inside a name or a version, nor around '@' and '.'."
        return _syntax(value, pos, "'(', '|' or the end of the value", hint)
    if head["version"] is not None:
        return _syntax(value, pos, "'(', '|' or the end of the value")
    if value[pos] == "@":
        hint = "A version is letters, digits, '.', '-', '_' and '+', right after '@'."
        return _syntax(value, pos + 1, "a version after '@'", hint)
    if value[pos] == ".":
        hint = "Each part of a name starts with a letter or '_', right after '.'."
        return _syntax(value, pos + 1, "an identifier after '.'", hint)
    return _syntax(value, pos, "'.', '@', '(', '|' or the end of the value")


def _arg_error(value: str, pos: int) -> HeaderSyntax:
    k = _IDENT.match(value, pos)
    if k is None:
        first = value[:pos].rstrip(" \t").endswith("(")
        if pos == len(value):
            hint = "The argument list is not closed."
        elif value[pos] == ")":
            hint = "Remove the ',' before ')'."
        else:
            hint = "A key starts with a letter or '_'."
        return _syntax(value, pos, "an argument key or ')'" if first else "an argument key", hint)
    p = _OWS.match(value, k.end()).end()
    if not value.startswith("=", p):
        if p > k.end() and _IDENT.match(value, p):
            hint = "Spaces are not allowed inside a key."
        else:
            hint = "Write key=value."
        return _syntax(value, p, "'=' after the argument key", hint)
    p = _OWS.match(value, p + 1).end()
    if value.startswith('"', p):
        quoted = _QUOTED.match(value, p)
        if quoted is None:
            return _quoted_error(value, p)
        p = quoted.end()
    else:
        bare = _BARE.match(value, p)
        if bare is None:
            if value.startswith("'", p):
                hint = 'Values are quoted with double quotes: key="value".'
            elif p == len(value) or value[p] in ",)":
                hint = 'An empty value is written "".'
            else:
                hint = _QUOTING
            return _syntax(value, p, "an argument value", hint)
        p = bare.end()
    p = _OWS.match(value, p).end()
    hint = "The argument list is not closed." if p == len(value) else _QUOTING
    return _syntax(value, p, "',' or ')'", hint)


def _quoted_error(value: str, start: int) -> HeaderSyntax:
    stop = _QUOTED_OPEN.match(value, start).end()
    if stop + 1 < len(value):  # a backslash before something else than '"' or '\'
        hint = "Inside double quotes a backslash escapes only '\"' and '\\'; write '\\\\' for one."
        return _syntax(value, stop, "'\\\"' or '\\\\' after a backslash", hint)
    hint = f"The quote opened at offset {start} is not closed."
    return _syntax(value, len(value), "'\"' closing the quoted value", hint)


def _by_io_error(value: str, pos: int) -> HeaderSyntax:
    source_end = _type_end(value, pos, source=True)
    p = _OWS.match(value, source_end).end()
    if not value.startswith("->", p):
        hint = ""
        if value.startswith(";", p):
            hint = "Parameters follow a media type (type/subtype), not an alias."
        elif p > source_end and (_MTOKEN.match(value, p) or value.startswith("/", p)):
            hint = "Spaces are not allowed inside a type."
        return _syntax(value, p, "'->' and the target type", hint)
    p = _OWS.match(value, _type_end(value, _OWS.match(value, p + 2).end())).end()
    hint = ""
    if value.startswith("->", p):
        hint = "A by-io stage converts one type into one other: write 'A -> B | B -> C'."
    elif value.startswith(";", p):
        hint = "Parameters follow a media type (type/subtype), not an alias."
    return _syntax(value, p, _END, hint)


def _type_end(value: str, pos: int, *, source: bool = False) -> int:
    """Where the type at `pos` ends; raises the syntax error when there is none."""
    why = f" {_IS_BY_IO}" if source else ""  # a by-name stage may have been meant
    first = _MTOKEN.match(value, pos)
    if first is None:
        raise _syntax(value, pos, _TYPE, why.lstrip())
    if not value.startswith("/", first.end()):
        if _ALIAS.match(value, pos):
            return first.end()
        hint = f"{first[0]!r} is not a type alias (JSON, XML, TEXT, CSV, YAML, BINARY, SOAP)."
        raise _syntax(value, pos, _TYPE, hint + why)
    second = _MTOKEN.match(value, first.end() + 1)
    if second is None:
        raise _syntax(value, first.end() + 1, "a subtype after '/'")
    p = second.end()
    while True:  # parameters
        semicolon = _OWS.match(value, p).end()
        if not value.startswith(";", semicolon):
            return p
        q = _OWS.match(value, semicolon + 1).end()
        name = _MTOKEN.match(value, q)
        if name is None:
            raise _syntax(value, q, "a parameter name after ';'")
        q = _OWS.match(value, name.end()).end()
        if not value.startswith("=", q):
            raise _syntax(value, q, "'=' after the parameter name")
        q = _OWS.match(value, q + 1).end()
        if value.startswith('"', q):
            parameter = _QUOTED_STRING.match(value, q)
            if parameter is None:
                hint = f"The quote opened at offset {q} is not closed."
                raise _syntax(value, len(value), "'\"' closing the quoted value", hint)
        else:
            parameter = _MTOKEN.match(value, q)
            if parameter is None:
                raise _syntax(value, q, "a parameter value")
        p = parameter.end()


def _operation_error(value: str, operation: re.Match[str]) -> HeaderSyntax:
    hint = "An operation is Op or Service.Port.Op."
    dotted = _DOTTED.match(value, operation.end())
    if value.startswith(".", dotted.end()):
        return _syntax(value, dotted.end() + 1, "an identifier after '.'", hint)
    if operation[0].count(".") + dotted[0].count(".") == 1:
        return _syntax(value, dotted.end(), "'.' and the operation (Service.Port.Op)", hint)
    return _syntax(value, operation.end(), _END, hint)
