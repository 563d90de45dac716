"""Why an Integration-Config value does not parse: where, what was expected, what was found.

gateway/header.py reads a value in one fast left-to-right pass and calls here only once
that pass has failed. These functions walk the failing spot again, slowly, and return
(or, where they walk further, raise) the HeaderSyntax error: its position is the offset
of the first character that no stage of its kind could have there, or the start of a
token that is wrong as a whole; its detail names what was found and, where one helps,
a hint.
"""

from __future__ import annotations

import re

from igwcore import abnf
from igwcore.problems import HeaderSyntax
from igwcore.urls import port_number

_OWS = re.compile(abnf.OWS)
_IDENT = re.compile(abnf.ident)
_BARE = re.compile(abnf.bare)
_QUOTED = re.compile(abnf.quoted)
_QUOTED_OPEN = re.compile(abnf.quoted[:-1])  # a quoted value up to where it stops
_MTOKEN = re.compile(abnf.mtoken)
_QUOTED_STRING = re.compile(abnf.quoted_string)
_ALIAS = re.compile(abnf.alias)
_DOTTED = re.compile(rf"(?:\.{abnf.ident})*+")
_SCHEME_END = re.compile(r"([^/?#]*)://")
_SCHEME = re.compile(abnf.scheme)
_AUTHORITY = re.compile(r"[^/?#]*+")
_HOST = re.compile(abnf.host)
_PORT = re.compile(abnf.port)
_NOT_VCHAR = re.compile(r"[^\x21-\x7e]")

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


def syntax_error(value: str, pos: int, expected: str, hint: str = "") -> HeaderSyntax:
    """The error at offset `pos` of `value`: `expected` was not there, `hint` says why."""
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


def stage_end_error(value: str, pos: int) -> HeaderSyntax:
    """A stage that goes on at `pos` where it should have ended."""
    return syntax_error(value, pos, _END)


def stage_start_error(value: str, pos: int, index: int) -> HeaderSyntax:
    """Stage `index`, at `pos`, starts with nothing a stage may start with."""
    expected = "a service name, 'wsdl:' or a media type"
    if pos < len(value) and value[pos] != "|":
        return syntax_error(value, pos, expected, "A service name starts with a letter or '_'.")
    if index == 0 and pos == len(value):
        hint = "The header has no stage."
    elif pos == len(value):
        hint = "A '|' at the end leaves an empty stage."
    else:
        hint = "An empty stage: remove the extra '|'."
    return syntax_error(value, pos, expected, hint)


def after_name_error(value: str, head: re.Match[str]) -> HeaderSyntax:
    """A by-name stage's name (and version), matched as `head`, followed by a wrong character."""
    pos = head.end()
    if head["ows"]:
        hint = "Spaces are not allowed inside a name or a version, nor around '@' and '.'."
        return syntax_error(value, pos, "'(', '|' or the end of the value", hint)
    if head["version"] is not None:
        return syntax_error(value, pos, "'(', '|' or the end of the value")
    if value[pos] == "@":
        hint = "A version is letters, digits, '.', '-', '_' and '+', right after '@'."
        return syntax_error(value, pos + 1, "a version after '@'", hint)
    if value[pos] == ".":
        hint = "Each part of a name starts with a letter or '_', right after '.'."
        return syntax_error(value, pos + 1, "an identifier after '.'", hint)
    return syntax_error(value, pos, "'.', '@', '(', '|' or the end of the value")


def arg_error(value: str, pos: int) -> HeaderSyntax:
    """The argument starting at `pos` is not `key=value` followed by ',' or ')'."""
    k = _IDENT.match(value, pos)
    if k is None:
        first = value[:pos].rstrip(" \t").endswith("(")
        if pos == len(value):
            hint = "The argument list is not closed."
        elif value[pos] == ")":
            hint = "Remove the ',' before ')'."
        else:
            hint = "A key starts with a letter or '_'."
        expected = "an argument key or ')'" if first else "an argument key"
        return syntax_error(value, pos, expected, hint)
    p = _OWS.match(value, k.end()).end()
    if not value.startswith("=", p):
        if p > k.end() and _IDENT.match(value, p):
            hint = "Spaces are not allowed inside a key."
        else:
            hint = "Write key=value."
        return syntax_error(value, p, "'=' after the argument key", hint)
    p = _OWS.match(value, p + 1).end()
    if value.startswith('"', p):
        quoted = _QUOTED.match(value, p)
        if quoted is None:
            return quoted_error(value, p)
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
            return syntax_error(value, p, "an argument value", hint)
        p = bare.end()
    p = _OWS.match(value, p).end()
    hint = "The argument list is not closed." if p == len(value) else _QUOTING
    return syntax_error(value, p, "',' or ')'", hint)


def repeated_key_error(value: str, pos: int, key: str, index: int) -> HeaderSyntax:
    """The argument at `pos` of stage `index` gives `key` a second time."""
    return syntax_error(
        value,
        pos,
        "an argument key not given before in this stage",
        f"The key {key!r} is given twice in stage {index}.",
    )


def quoted_error(value: str, start: int) -> HeaderSyntax:
    """The quoted value opened at `start` is not closed, or holds a bad escape."""
    stop = _QUOTED_OPEN.match(value, start).end()
    if stop + 1 < len(value):  # a backslash before something else than '"' or '\'
        hint = "Inside double quotes a backslash escapes only '\"' and '\\'; write '\\\\' for one."
        return syntax_error(value, stop, "'\\\"' or '\\\\' after a backslash", hint)
    hint = f"The quote opened at offset {start} is not closed."
    return syntax_error(value, len(value), "'\"' closing the quoted value", hint)


def by_io_error(value: str, pos: int) -> HeaderSyntax:
    """The by-io stage starting at `pos` is not `type -> type`."""
    source_end = _type_end(value, pos, source=True)
    p = _OWS.match(value, source_end).end()
    if not value.startswith("->", p):
        hint = ""
        if value.startswith(";", p):
            hint = "Parameters follow a media type (type/subtype), not an alias."
        elif p > source_end and (_MTOKEN.match(value, p) or value.startswith("/", p)):
            hint = "Spaces are not allowed inside a type."
        return syntax_error(value, p, "'->' and the target type", hint)
    p = _OWS.match(value, _type_end(value, _OWS.match(value, p + 2).end())).end()
    hint = ""
    if value.startswith("->", p):
        hint = "A by-io stage converts one type into one other: write 'A -> B | B -> C'."
    elif value.startswith(";", p):
        hint = "Parameters follow a media type (type/subtype), not an alias."
    return syntax_error(value, p, _END, hint)


def _type_end(value: str, pos: int, *, source: bool = False) -> int:
    """Where the type at `pos` ends; raises the syntax error when there is none."""
    why = f" {_IS_BY_IO}" if source else ""  # a by-name stage may have been meant
    first = _MTOKEN.match(value, pos)
    if first is None:
        raise syntax_error(value, pos, _TYPE, why.lstrip())
    if not value.startswith("/", first.end()):
        if _ALIAS.match(value, pos):
            return first.end()
        hint = f"{first[0]!r} is not a type alias (JSON, XML, TEXT, CSV, YAML, BINARY, SOAP)."
        raise syntax_error(value, pos, _TYPE, hint + why)
    second = _MTOKEN.match(value, first.end() + 1)
    if second is None:
        raise syntax_error(value, first.end() + 1, "a subtype after '/'")
    p = second.end()
    while True:  # parameters
        semicolon = _OWS.match(value, p).end()
        if not value.startswith(";", semicolon):
            return p
        q = _OWS.match(value, semicolon + 1).end()
        name = _MTOKEN.match(value, q)
        if name is None:
            raise syntax_error(value, q, "a parameter name after ';'")
        q = _OWS.match(value, name.end()).end()
        if not value.startswith("=", q):
            raise syntax_error(value, q, "'=' after the parameter name")
        q = _OWS.match(value, q + 1).end()
        if value.startswith('"', q):
            parameter = _QUOTED_STRING.match(value, q)
            if parameter is None:
                hint = f"The quote opened at offset {q} is not closed."
                raise syntax_error(value, len(value), "'\"' closing the quoted value", hint)
        else:
            parameter = _MTOKEN.match(value, q)
            if parameter is None:
                raise syntax_error(value, q, "a parameter value")
        p = parameter.end()


def contract_url_error(value: str, pos: int) -> HeaderSyntax:
    """No URL (bare or quoted) at `pos`, right after 'wsdl:'."""
    hint = "Nothing may stand between 'wsdl:' and the URL." if _space_at(value, pos) else ""
    return syntax_error(value, pos, "a URL or a quoted URL after 'wsdl:'", hint)


def url_error(url: str, value: str, start: int, *, quoted: bool) -> HeaderSyntax:
    """Why `url` (unquoted), written at `start` in `value`, is not a URL SPEC §1 allows."""

    def fail(i: int, expected: str, hint: str = "") -> HeaderSyntax:
        offset = start + i
        if quoted:  # escapes make the URL shorter than what was written
            offset = start + 1
            for _ in range(i):
                offset += 2 if value[offset] == "\\" else 1
        return syntax_error(value, offset, expected, hint)

    bad = _NOT_VCHAR.search(url)
    if bad:
        return fail(bad.start(), "a URL character", "Spaces are not allowed inside a URL.")
    if not url:
        return fail(0, "a URL")
    scheme_end = _SCHEME_END.match(url)
    if scheme_end is None:
        i = 0
    elif _SCHEME.fullmatch(url, 0, scheme_end.end(1)):
        i = scheme_end.end()
    else:
        return fail(0, "a URL scheme: a letter, then letters, digits, '+', '-' or '.'")
    j = _AUTHORITY.match(url, i).end()
    userinfo = url.find("@", i, j)
    if userinfo >= 0:
        return fail(userinfo, "a host without user information", "'user@host' is not allowed.")
    host = _HOST.match(url, i)
    if host is None and scheme_end is None:
        return fail(i, "a host")
    host_end = host.end() if host is not None else i
    if host_end < j:
        if url[host_end] != ":":
            return fail(host_end, "a host name character, ':' and a port, or the path")
        digits = _PORT.match(url, host_end + 1)
        if digits.end() < j:
            return fail(digits.end(), "a port number (digits)")
        if digits[0] and port_number(digits[0]) is None:
            return fail(digits.start(), "a port number up to 65535")
    raise AssertionError(f"{url!r} is a URL: there is nothing to explain")


def hash_error(value: str, pos: int) -> HeaderSyntax:
    """No '#' at `pos`, after a by-contract stage's URL."""
    if _space_at(value, pos):
        hint = "Spaces are not allowed inside a URL nor around '#'."
    elif value.startswith('"', pos):
        hint = "A URL with '\"', '#' or '|' is written in double quotes: wsdl:\"URL\"#Op."
    else:
        hint = "A by-contract stage is wsdl:URL#Operation."
    return syntax_error(value, pos, "'#' and an operation", hint)


def operation_error(value: str, pos: int) -> HeaderSyntax:
    """No operation at `pos`, after a by-contract stage's '#'."""
    hint = "Spaces are not allowed around '#'." if _space_at(value, pos) else ""
    return syntax_error(value, pos, "an operation: Op or Service.Port.Op", hint)


def dotted_operation_error(value: str, operation: re.Match[str]) -> HeaderSyntax:
    """The operation matched as `operation` goes on with '.': neither Op nor Service.Port.Op."""
    hint = "An operation is Op or Service.Port.Op."
    dotted = _DOTTED.match(value, operation.end())
    if value.startswith(".", dotted.end()):
        return syntax_error(value, dotted.end() + 1, "an identifier after '.'", hint)
    if operation[0].count(".") + dotted[0].count(".") == 1:
        return syntax_error(value, dotted.end(), "'.' and the operation (Service.Port.Op)", hint)
    return syntax_error(value, operation.end(), _END, hint)


def _space_at(value: str, pos: int) -> bool:
    return value.startswith((" ", "\t"), pos)
