"""The CLI's side of a running gateway's admin API: a call and its answer, and how a
command ends (`Status`, one table for every command, which `--help` prints), so that a
script can tell a problem the gateway answered from a gateway it could not reach."""

from __future__ import annotations

import enum
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import config as configuration
from gateway import tls
from gateway.lifecycle import listener_url


class Status(enum.IntEnum):
    """How a command ended, the same for every command."""

    DONE = 0
    PROBLEM = 1
    USAGE = 2
    UNREACHABLE = 3
    REFUSED = 4


STATUSES = {
    Status.DONE: "done",
    Status.PROBLEM: "the gateway answered with a problem (its problem+json on stderr), other "
    "than those below",
    Status.USAGE: "bad usage: arguments, a file that cannot be read, a config that cannot be "
    "used, or a header wrong as written (a syntax error, too many stages or arguments: what "
    "check finds offline, and resolve alike)",
    Status.UNREACHABLE: "the admin API could not be reached: nothing listens there, no answer "
    "in time, not HTTP, or its TLS certificate not trusted (--cacert)",
    Status.REFUSED: "the admin API refused the credentials: its token (401), or the client "
    "certificate its tls_client_ca asks for (--cert, --key)",
}
# The problems `check` finds offline: the admin API's answer of one of them is USAGE too.
HEADER_PROBLEMS = frozenset({"syntax", "too-many-stages", "too-many-args"})
# The server's TLS alerts about the client's certificate: a refusal, not an outage.
CERTIFICATE_ALERTS = tuple(
    "_ALERT_" + alert
    for alert in (
        "CERTIFICATE_REQUIRED",
        "BAD_CERTIFICATE",
        "UNKNOWN_CA",
        "CERTIFICATE_UNKNOWN",
        "CERTIFICATE_EXPIRED",
        "CERTIFICATE_REVOKED",
        "UNSUPPORTED_CERTIFICATE",
    )
)
# A listener bound to every address is called on this machine's loopback.
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class Failed(Exception):
    """A command that ends otherwise than DONE: what it says on stderr, and its status."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


class Answered(Exception):
    """A problem+json body: the admin API's answer, or what `check` finds."""

    def __init__(self, problem: dict[str, Any]) -> None:
        self.problem = problem


def problem_status(problem: dict[str, Any]) -> Status:
    slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
    if slug in HEADER_PROBLEMS:
        return Status.USAGE
    return Status.REFUSED if problem.get("status") == 401 else Status.PROBLEM


@dataclass(frozen=True)
class AdminAPI:
    """A running gateway's admin API: its base URL, token and TLS context."""

    base: str
    token: str
    context: ssl.SSLContext | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON; Answered with a problem, Failed when it cannot be had."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.context) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                raise Answered(json.loads(raw)) from None
            except json.JSONDecodeError:
                detail = raw.decode(errors="replace")
                raise Answered({"status": e.code, "detail": detail}) from None
        except urllib.error.URLError as e:
            raise self._unreachable(e.reason) from None
        except (OSError, http.client.HTTPException) as e:
            raise self._unreachable(e) from None
        try:
            return json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            raise Failed(Status.UNREACHABLE, f"{self.base} answered, but not JSON") from None

    def _unreachable(self, reason: Any) -> Failed:
        if self.context is not None and certificate_refused(reason):
            return Failed(
                Status.REFUSED,
                f"the admin API at {self.base} refused the TLS connection ({reason}): it "
                "takes only a client certificate its tls_client_ca signed (--cert, --key)",
            )
        hint = (
            " (trust its CA with --cacert PATH)"
            if isinstance(reason, ssl.SSLCertVerificationError)
            else ""
        )
        return Failed(
            Status.UNREACHABLE, f"cannot reach the admin API at {self.base}: {reason}{hint}"
        )


def certificate_refused(reason: Any) -> bool:
    """A TLS server's alert about the client's certificate; or, as asyncio's TLS servers
    (the gateway's) send no alert, a hang-up right after the handshake."""
    if isinstance(reason, ssl.SSLError) and str(reason.reason).endswith(CERTIFICATE_ALERTS):
        return True
    return isinstance(reason, ConnectionResetError | ssl.SSLEOFError | ssl.SSLZeroReturnError)


def admin_api(
    config: configuration.Config,
    admin: str | None,
    cacert: str | None,
    cert: str | None,
    cert_key: str | None,
) -> AdminAPI:
    """`admin` (--admin), else the config's admin listener (https:// with its tls_cert);
    its token; the TLS options for an https:// one."""
    a = config.admin
    host = LOOPBACK.get(a.host, a.host)
    base = (admin or listener_url(host, a.port, tls=bool(a.tls_cert))).rstrip("/")
    if cert_key is not None and cert is None:
        raise Failed(Status.USAGE, "--key goes with --cert: the certificate it is the key of")
    if not base.lower().startswith("https://"):
        return AdminAPI(base, config.admin_token)
    try:
        context = tls.client_context(cacert, cert, cert_key)
    except tls.TLSFileError as e:
        raise Failed(Status.USAGE, f"{e.key}: {e}") from None
    return AdminAPI(base, config.admin_token, context)


def read(path: Path) -> str:
    """A file a command was given; USAGE when it cannot be read."""
    try:
        return path.read_text()
    except OSError as e:
        raise Failed(Status.USAGE, f"cannot read {path}: {e.strerror}") from None


def quoted(segment: str) -> str:
    """An id as one segment of a path."""
    return urllib.parse.quote(segment, safe="")
