"""Signing in to the console, and its forms' CSRF checks.

Signing in. A browser cannot send the admin API's `Authorization: Bearer` with a link or a
form, so when `[admin] token` is set, the console's paths (`/`, `/ui`, `/ui/...`, and only
those: see `signed_in`, which the admin token middleware asks) also take:
- the cookie `igw_console`, whose value is an HMAC of the token, never the token itself (a
  leaked cookie opens the console, not the JSON API; a new token voids every cookie);
- `?token=TOKEN` on a GET, once: the answer sets that cookie (HttpOnly, SameSite=Strict,
  Secure on TLS, for the browser session) and redirects (303) to the same page without the
  token, so the token stays out of the address bar and of pages' `Referer`.
The Bearer header still works (curl). Without a token (the default, loopback only), the
console is as open as the admin API.

CSRF. Every form carries a hidden `csrf` field, a random value made once per process
(a restart voids open pages' forms), checked in constant time; a POST whose `Origin` is sent
and is not this listener's is refused too. Both answer 403 with a short HTML page. This
matters most without a token: no cookie then, and any page the operator's browser opens
could otherwise post a form to 127.0.0.1:8081. With a token, SameSite=Strict already keeps
the cookie off other sites' requests.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from aiohttp import web
from yarl import URL

from gateway.console.pages import CSRF, PAGE, forbidden, redirect
from gateway.keys import gateway_of

COOKIE = "igw_console"


def is_console(path: str) -> bool:
    return path in ("/", PAGE) or path.startswith(PAGE + "/")


def session_value(token: str) -> str:
    """The cookie's value: derived from the admin token, so it is not the token."""
    return hmac.new(token.encode(), b"integration-gateway console", hashlib.sha256).hexdigest()


def signed_in(request: web.Request, token: str) -> bool:
    """Whether a console request carries the console's cookie, or `?token=` on a GET."""
    if not is_console(request.path):
        return False
    cookie = request.cookies.get(COOKIE, "")
    if hmac.compare_digest(cookie.encode(), session_value(token).encode()):
        return True
    given = request.query.get("token", "") if request.method in ("GET", "HEAD") else ""
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def sign_in(request: web.Request) -> web.Response:
    """The answer to `?token=`: the cookie, when the token is right, and the page without it."""
    rest = [(k, v) for k, v in request.query.items() if k != "token"]
    response = redirect(str(URL(PAGE).with_query(rest)))
    token = gateway_of(request).config.admin_token
    if token and hmac.compare_digest(request.query["token"].encode(), token.encode()):
        response.set_cookie(
            COOKIE,
            session_value(token),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
    return response


async def checked_form(request: web.Request) -> Mapping[str, str] | web.Response:
    """The POST's form, or the 403 page when it fails the CSRF checks."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return forbidden("This form was posted from another site.")
    form = await request.post()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode(), request.app[CSRF].encode()
    ):
        return forbidden("This form is out of date (has the gateway restarted?).")
    return {k: v for k, v in form.items() if isinstance(v, str)}
