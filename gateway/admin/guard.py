"""Who may talk to the admin API, checked before any handler (SPEC §5, §10.1), in order:

1. Cross-site: a request that changes state (POST, PUT, PATCH, DELETE) whose `Origin` is
   neither the listener's own (its scheme and the request's `Host`, where that `Host`
   names the listener: a loopback name or address, or `[admin] host`) nor one of
   `[admin] origins`, or whose `Sec-Fetch-Site` is other than `same-origin` or `none`,
   is 403 /cross-site, with a token set or not. A page in the operator's browser can
   send a form or a `text/plain` fetch without a preflight; this is what stops it.
2. Without `[admin] token`, only requests addressed to a loopback host are answered
   (a page whose name was rebound to 127.0.0.1 still sends its own name as `Host`).
3. With a token: `Authorization: Bearer TOKEN` (the scheme in any case), or the
   console's own sign-in on its pages; else 401 /invalid-credentials.
4. On the JSON API, a POST or PUT with a body needs `Content-Type: application/json`
   (parameters allowed), else 415 /unsupported-media-type. The console's forms carry
   their own CSRF token instead.
5. With a shared repository out of reach, a request that would read or change it is
   503 /repository-unavailable (SPEC §6) at once; what memory answers (the application
   lists, clients, the policy, metrics) and resolving, purging, undeploying still work.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web
from yarl import URL

from gateway.console import is_console, signed_in
from gateway.keys import GATEWAY
from gateway.middleware import Handler
from igwcore import mediatype
from igwcore.problems import (
    BadRequest,
    CrossSite,
    InvalidCredentials,
    RepositoryUnavailable,
    UnsupportedMediaType,
)

CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_SITE = frozenset({"same-origin", "none"})
# What the admin API answers with the shared repository out of reach (SPEC §6): from
# memory, or the application lists. Anything else would wait on the server, then fail.
WITHOUT_REPOSITORY = {
    "GET": ("/applications", "/purge/policy", "/metrics", "/openapi.json", "/clients", "/ui"),
    "POST": ("/resolve", "/purge", "/ui/purge", "/ui/applications/"),
    "DELETE": ("/applications/",),
}


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    config = request.app[GATEWAY].config
    if request.method in CHANGING:
        _refuse_cross_site(request, config.admin.host, config.admin.origins)
    token = config.admin_token
    if not token and not _loopback_host(request.host):
        raise BadRequest(
            f"the admin API has no token, so it answers only requests addressed to a loopback "
            f"host, not {request.host!r}"
        )
    if token and not signed_in(request, token) and not _bearer(request, token):
        problem = InvalidCredentials("the admin API needs 'Authorization: Bearer <token>'")
        problem.headers["WWW-Authenticate"] = 'Bearer realm="integration-gateway-admin"'
        raise problem
    if request.method in ("POST", "PUT") and not is_console(request.path) and _has_body(request):
        given = request.headers.get("Content-Type", "")
        if mediatype.normalize(given) != "application/json":
            raise UnsupportedMediaType(
                f"the admin API takes JSON bodies: send Content-Type: application/json, "
                f"not {given or 'none'!r}"
            )
    gateway = request.app[GATEWAY]
    if gateway.repository_state == "disconnected" and not request.path.startswith(
        WITHOUT_REPOSITORY.get(request.method, ())
    ):
        raise RepositoryUnavailable(
            f"the shared repository ({gateway.repository_name}) is out of reach: changes "
            "are refused until it is back; deployed applications keep serving, and "
            "GET /applications, /clients, /purge/policy and /metrics answer"
        )
    return await handler(request)


def _refuse_cross_site(request: web.Request, admin_host: str, origins: tuple[str, ...]) -> None:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.lower() not in SAME_SITE:
        raise CrossSite(
            f"a {request.method} from another site (Sec-Fetch-Site: {fetch_site}) is refused: "
            "only the admin listener's own pages and [admin] origins may change state"
        )
    origin = request.headers.get("Origin")
    if origin is None or origin.lower() in {o.lower() for o in origins}:
        return
    own = f"{request.scheme}://{request.host}".lower()
    if origin.lower() == own and _names_listener(request.host, admin_host):
        return
    raise CrossSite(
        f"a {request.method} from another site ({origin!r}) is refused: only the admin "
        "listener's own origin and [admin] origins may change state"
    )


def _names_listener(host_header: str, admin_host: str) -> bool:
    host = _host_of(host_header)
    return host is not None and (is_loopback(host) or host == admin_host.lower().strip("[]"))


def _bearer(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _has_body(request: web.Request) -> bool:
    length = request.content_length
    return length > 0 if length is not None else request.body_exists


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, without a port) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_host(host_header: str) -> bool:
    host = _host_of(host_header)
    return host is not None and is_loopback(host)


def _host_of(host_header: str) -> str | None:
    try:
        host = URL(f"http://{host_header}").host
    except ValueError:
        return None
    return host.lower() if host else None
