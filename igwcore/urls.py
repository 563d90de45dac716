"""The canonical form of a URL (SPEC §1), which names a WSDL in `wsdl:` stages, entries
and imports alike.

`http://` is put in front of a URL without a scheme; scheme and host are written lower
case, the port without leading zeros; an empty port and the scheme's default port are
dropped, an empty path is written `/`. Nothing else is rewritten (no percent-encoding or
dot-segment normalization). Where SPEC §1 leaves room:

- A URL has a scheme when `://` comes before its first `/`, `?` or `#` (a `://` in a
  query does not count), and that scheme must be an RFC 3986 scheme.
- A URL needs a host unless it names its scheme (`file:///x` is allowed: resolution
  answers it 404 with a reason, as SPEC §2 says); a port is at most 65535.
"""

from __future__ import annotations

import re

from igwcore import abnf

__all__ = ["canonical_url", "canonical_url_or_none", "port_number", "same_url"]

# A URL SPEC §1 allows, in parts (its port still to be checked against 65535). A "://"
# before the first "/", "?" or "#" must end a scheme: the lookahead refuses the URL where
# it does not.
_URL_PARTS = re.compile(
    rf"(?:(?P<scheme>{abnf.scheme})://|(?![^/?#]*://))(?P<host>{abnf.host})?+"
    r"(?::(?P<port>[0-9]*+))?+(?P<path>[/?#][\x21-\x7e]*+)?+"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def canonical_url_or_none(url: str) -> str | None:
    """`url` (unquoted) in canonical form, or None when SPEC §1 does not allow it (user
    information, no host, a space...)."""
    parts = _URL_PARTS.fullmatch(url)
    if parts is None:
        return None
    scheme, host, port, path = parts.group("scheme", "host", "port", "path")
    if host is None:
        if scheme is None:
            return None
        host = ""  # `file:///etc/x`: allowed by the grammar, refused by resolution (404)
    number = port_number(port) if port else None
    if port and number is None:
        return None
    scheme = "http" if scheme is None else scheme.lower()
    port = str(number) if port else ""
    if _DEFAULT_PORTS.get(scheme) == port:
        port = ""
    if not path or path[0] != "/":
        path = "/" + (path or "")
    return f"{scheme}://{host.lower()}{':' if port else ''}{port}{path}"


def canonical_url(url: str) -> str:
    """`url` in canonical form; a URL that SPEC §1 does not allow is returned as it is:
    no `wsdl:` stage can name it, so it has no other spelling to be compared with."""
    canonical = canonical_url_or_none(url)
    return url if canonical is None else canonical


def same_url(a: str | None, b: str | None) -> bool:
    """Whether two URLs are the same once canonical."""
    if not a or not b:
        return False
    return a == b or canonical_url(a) == canonical_url(b)


def port_number(digits: str) -> int | None:
    """The port `digits` name, or None above 65535 (never int() of thousands of digits)."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > 5 or int(significant) > 65535:
        return None
    return int(significant)
