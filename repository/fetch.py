"""Fetching service descriptions (a WSDL and what it imports) under the gateway's rules.

Every document zeep asks for while it reads a WSDL goes through `GuardedTransport.load`,
the one place a description is fetched, so one rule holds for the WSDL, its nested
`<import>`/`<include>`s and every redirect of each:

- Well-known schemas (SOAP 1.1/1.2 envelope and encoding, `xml.xsd`, the WSDL namespace,
  the XML Schema namespace) are answered from `repository/schemas/`, never fetched.
- Only `http` and `https` are fetched: never `file://` (zeep's own transport opens
  files), a bare path, or any other scheme.
- `FetchPolicy.hosts`: for `wsdl:URL#Op` resolution, the host (without its port, lower
  case) must be in `[assembler] fetch_wsdl_hosts`; for an operator's import
  (`POST /imports`) any host is allowed (`hosts=None`): the operator chose the URL.
- Each document is at most `fetch_max_bytes` (checked on `Content-Length` and while
  reading), one load (a WSDL with all its imports) takes at most `fetch_timeout_s` in
  all and at most `MAX_DOCUMENTS` documents, and a redirect chain at most
  `MAX_REDIRECTS` hops.
- Every fetched document must pass `xmlsafe.parse` (no DOCTYPE, no entities) before
  zeep parses it.
- Fetched with `requests` (zeep's own dependency) in a session with only its http and
  https adapters; proxies and credentials from the environment are not used
  (`trust_env=False`), as for the http kind.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from zeep.transports import Transport

from repository import xmlsafe

__all__ = [
    "WELL_KNOWN",
    "FetchFailed",
    "FetchPolicy",
    "FetchRefused",
    "GuardedTransport",
    "NotAWsdl",
    "WsdlUnavailable",
    "host_of",
    "well_known",
]

MAX_REDIRECTS = 5
MAX_DOCUMENTS = 100
CHUNK_BYTES = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Well-known URL (scheme, trailing slash and host case ignored) -> file in schemas/.
WELL_KNOWN: dict[str, str] = {
    "schemas.xmlsoap.org/soap/envelope": "soap11-envelope.xsd",
    "schemas.xmlsoap.org/soap/encoding": "soap11-encoding.xsd",
    "www.w3.org/2003/05/soap-envelope": "soap12-envelope.xsd",
    "www.w3.org/2003/05/soap-encoding": "soap12-encoding.xsd",
    "www.w3.org/2001/xml.xsd": "xml.xsd",
    "www.w3.org/xml/1998/namespace": "xml.xsd",
    "schemas.xmlsoap.org/wsdl": "wsdl11.xsd",
    # The XML Schema namespace itself: its types are built in; the published file has a
    # DTD (refused), yet some WSDLs import it.
    "www.w3.org/2001/xmlschema.xsd": "xmlschema.xsd",
    "www.w3.org/2001/xmlschema": "xmlschema.xsd",
}


class WsdlUnavailable(Exception):
    """A description that cannot be had: fetch failed, too big, too slow, not XML."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchRefused(WsdlUnavailable):
    """A URL the rule does not allow: a scheme other than http(s), a host not listed."""


class FetchFailed(WsdlUnavailable):
    """A document that could not be had: no answer, an HTTP error (`status`), too big, too
    slow, too many redirects or documents."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class NotAWsdl(WsdlUnavailable):
    """A document that was had, and is not a WSDL (not XML, a DOCTYPE, not WSDL 1.1)."""


def host_of(url: str) -> str:
    """The URL's host, lower case, without port or IPv6 brackets ('' when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def well_known(url: str) -> bytes | None:
    """The shipped copy of a well-known schema, or None."""
    if "://" not in url:
        return None
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in DEFAULT_PORTS:
        return None
    host, slash, path = rest.partition("/")
    key = f"{host.lower()}{slash}{path}".rstrip("/").split("#", 1)[0].lower()
    name = WELL_KNOWN.get(key)
    if name is None:
        return None
    return resources.files("repository").joinpath("schemas", name).read_bytes()


@dataclass(frozen=True)
class FetchPolicy:
    """Which URLs may be fetched and how much of them (`[assembler] fetch_*`)."""

    hosts: frozenset[str] | None = None  # None: any host (an operator's import)
    max_bytes: int = 5_242_880
    timeout_s: float = 10.0

    @classmethod
    def only(cls, hosts: Iterable[str], *, max_bytes: int, timeout_s: float) -> FetchPolicy:
        """`wsdl:URL#Op` resolution: only `hosts` (`fetch_wsdl_hosts`), compared lower case.
        A host alone allows every port of it; `host:port` (`[::1]:8443` for IPv6) only
        that port. An IPv6 address alone may be written with or without its brackets."""
        allowed = frozenset(_allowed(h) for h in hosts)
        return cls(hosts=allowed, max_bytes=max_bytes, timeout_s=timeout_s)

    def any_host(self) -> FetchPolicy:
        """The same limits for any http(s) host: an operator's import, or a stage
        (re)loading an imported entry's WSDL."""
        return dataclasses.replace(self, hosts=None)

    def check(self, url: str) -> None:
        """Raise FetchRefused unless `url` may be fetched."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not one
        except ValueError as e:
            raise FetchRefused(f"{url!r} is not a URL") from e
        if not parts.scheme:
            raise FetchRefused(
                f"{url}: a relative location with no base URL to resolve it against "
                "(only http and https URLs are fetched)"
            )
        if parts.scheme.lower() not in DEFAULT_PORTS:
            raise FetchRefused(f"{url}: only http and https are fetched, not {parts.scheme}://")
        if "\\" in parts.netloc or any(c.isspace() for c in parts.netloc):
            # HTTP clients disagree on where such a host ends: never guess.
            raise FetchRefused(f"{url}: not a plain host")
        host = host_of(url)
        if not host:
            raise FetchRefused(f"{url}: no host")
        if self.hosts is not None and "@" in parts.netloc:
            raise FetchRefused(f"{url}: a URL with user information is not fetched")
        if self.hosts is not None and not self.hosts & {host, _with_port(host, parts)}:
            raise FetchRefused(f"{url}: host {host!r} is not in [assembler] fetch_wsdl_hosts")


def _allowed(entry: str) -> str:
    """A `fetch_wsdl_hosts` entry as `check` compares it: `host` or `host:port`."""
    text = entry.strip().lower()
    if text.startswith("[") and "]:" in text:  # [::1]:8443
        return text
    if text.count(":") == 1:  # host:8443
        return text
    return text.strip("[]")  # a host, or an IPv6 address alone


def _with_port(host: str, parts: Any) -> str:
    """`host:port` of a URL, its scheme's default port where it names none."""
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class GuardedTransport(Transport):
    """A zeep transport that loads descriptions under a `FetchPolicy` and posts nothing.

    `documents` answers URLs without a fetch (a document imported as text, known by its
    base URL). zeep calls `load` from the thread that parses, so this is synchronous;
    callers run the whole parse in a worker thread.
    """

    def __init__(self, policy: FetchPolicy, documents: dict[str, bytes] | None = None) -> None:
        # Transport.__init__ is not called: it makes a requests session that opens file://.
        self.policy = policy
        self.documents = dict(documents or {})
        self.cache = None
        self.load_timeout = policy.timeout_s
        self.operation_timeout = None
        self.fetched: list[str] = []  # what was fetched, in order (for tests and logs)
        self.loaded: dict[str, bytes] = {}  # URL asked for -> its content
        self._deadline = time.monotonic() + policy.timeout_s
        self._session: requests.Session | None = None

    def load(self, url: str) -> bytes:
        if not url:
            raise WsdlUnavailable("an import without a location")
        known = well_known(url)
        if known is not None:
            return known
        given = self.documents.get(url)
        if given is not None:
            return given
        if len(self.fetched) >= MAX_DOCUMENTS:
            raise FetchFailed(f"more than {MAX_DOCUMENTS} documents to fetch")
        content = self._fetch(url)
        try:
            xmlsafe.parse(content)
        except xmlsafe.XmlRefused as e:
            raise NotAWsdl(f"{url}: {e.reason}") from e
        self.loaded[url] = content
        return content

    def fetch(self, url: str) -> bytes:
        """What `url` answers, under the policy (each redirect too), not parsed."""
        if len(self.fetched) >= MAX_DOCUMENTS:
            raise FetchFailed(f"more than {MAX_DOCUMENTS} documents to fetch")
        return self._fetch(url)

    def _fetch(self, url: str) -> bytes:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self.policy.check(current)
            self.fetched.append(current)
            status, location, body = self._get(current)
            if status in REDIRECTS and location:
                current = urljoin(current, location)
                continue
            if 200 <= status < 300:
                return body
            raise FetchFailed(f"{current} answered HTTP {status}", status=status)
        raise FetchFailed(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str) -> tuple[int, str, bytes]:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed(f"{url}: not fetched within {self.policy.timeout_s:g} s")
        limit = self.policy.max_bytes
        try:
            with self._http().get(
                url, stream=True, allow_redirects=False, timeout=remaining
            ) as response:
                status = response.status_code
                if status in REDIRECTS or not 200 <= status < 300:
                    return status, response.headers.get("Location", ""), b""
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchFailed(f"{url} is over fetch_max_bytes ({limit} bytes)")
                chunks: list[bytes] = []
                size = 0
                # Decompressed bytes are counted: a small gzip cannot smuggle a big document.
                for chunk in response.iter_content(CHUNK_BYTES):
                    size += len(chunk)
                    if size > limit:
                        raise FetchFailed(f"{url} is over fetch_max_bytes ({limit} bytes)")
                    if time.monotonic() > self._deadline:
                        raise FetchFailed(f"{url}: not fetched within {self.policy.timeout_s:g} s")
                    chunks.append(chunk)
                return status, "", b"".join(chunks)
        except requests.Timeout as e:
            raise FetchFailed(f"{url}: not fetched within {self.policy.timeout_s:g} s") from e
        except requests.RequestException as e:
            raise FetchFailed(f"{url}: {type(e).__name__}: {e}") from e

    def _http(self) -> requests.Session:
        if self._session is None:
            # A plain session: only the http and https adapters (no file://), no proxies or
            # .netrc credentials from the environment.
            self._session = requests.Session()
            self._session.trust_env = False
            self._session.headers["User-Agent"] = "integration-gateway (WSDL import)"
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # zeep would use these to call operations; the soap kind posts by itself.
    def get(self, address: str, params: Any, headers: Any) -> Any:
        raise WsdlUnavailable("GuardedTransport only loads descriptions")

    def post(self, address: str, message: Any, headers: Any) -> Any:
        raise WsdlUnavailable("GuardedTransport only loads descriptions")

    def __del__(self) -> None:
        self.close()
