"""The operators' console: HTML pages on the admin listener (issue #5).

`GET /ui` shows the application list, the services and the purge policy; `GET /` redirects
there. The application list sorts by `?sort=last_used|hits|size&order=asc|desc`, through
links in its column headers: no script at all. `POST /ui/policy` changes the purge policy
(a bad value: 422, the page again with each error next to its field and the values as
entered); `POST /ui/purge` purges with the policy. Both answer a success with 303 to a
`GET /ui` that shows the outcome (POST-redirect-GET), so a reload never posts twice.

Every value shown goes through `html.escape`: a canonical header is a client's text. The
Content-Security-Policy allows no script, only the page's own style (by hash), no framing.

Signing in. A browser cannot send the admin API's `Authorization: Bearer` with a link or a
form, so when `[admin] token` is set, the console's paths (`/`, `/ui`, `/ui/...`, and only
those: see `signed_in`, which `admin._token` asks) also take:
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

import base64
import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from html import escape
from importlib import resources
from string import Template
from typing import Any

from aiohttp import web
from yarl import URL

from gateway.keys import gateway_of
from igwcore.problems import InvalidEntry

PAGE = "/ui"
COOKIE = "igw_console"
CSRF = web.AppKey("console_csrf", str)

SORTS = {"last_used": "last_used", "hits": "hits", "size": "size_bytes"}
ORDERS = ("asc", "desc")
DEFAULT_SORT = ("last_used", "desc")

NUMBERS = ("interval_s", "max_idle_s")
INTEGERS = ("max_apps", "max_bytes")
POLICY_FIELDS = (
    ("interval_s", "seconds between scheduled purges; 0: no schedule, ignored while cron is set"),
    ("cron", "a crontab line (minute hour day month weekday, UTC); empty: use interval_s"),
    ("max_idle_s", "purge applications idle this long; 0: every one not in flight"),
    ("max_apps", "most applications on each app server"),
    ("max_bytes", "most estimated memory on each app server, in bytes"),
    ("on_deploy", "purge before a deployment that would go over budget"),
)


def add_routes(app: web.Application) -> None:
    app[CSRF] = secrets.token_urlsafe(32)
    app.router.add_get("/", home)
    app.router.add_get(PAGE, page)
    app.router.add_post(PAGE + "/policy", post_policy)
    app.router.add_post(PAGE + "/purge", post_purge)


# --- signing in ---------------------------------------------------------------------------


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


def _sign_in(request: web.Request) -> web.Response:
    rest = [(k, v) for k, v in request.query.items() if k != "token"]
    response = _redirect(str(URL(PAGE).with_query(rest)))
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


async def _checked_form(request: web.Request) -> Mapping[str, str] | web.Response:
    """The POST's form, or the 403 page when it fails the CSRF checks."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return _forbidden("This form was posted from another site.")
    form = await request.post()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode(), request.app[CSRF].encode()
    ):
        return _forbidden("This form is out of date (has the gateway restarted?).")
    return {k: v for k, v in form.items() if isinstance(v, str)}


# --- handlers -----------------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    return _redirect(str(URL(PAGE).with_query(request.query)), status=302)


async def page(request: web.Request) -> web.Response:
    if "token" in request.query:
        return _sign_in(request)
    return _html(render(request))


async def post_policy(request: web.Request) -> web.Response:
    form = await _checked_form(request)
    if isinstance(form, web.Response):
        return form
    gw = gateway_of(request)
    data, errors = policy_data(form)
    try:
        policy = gw.applications.policy.updated_from(data)
    except InvalidEntry as e:
        errors = [*errors, *e.members["errors"]]
    if errors:
        return _html(render(request, entered=form, errors=errors), status=422)
    await gw.set_policy(policy)
    return _redirect(PAGE + "?policy=saved")


async def post_purge(request: web.Request) -> web.Response:
    form = await _checked_form(request)
    if isinstance(form, web.Response):
        return form
    gw = gateway_of(request)
    report = await gw.purge(gw.applications.policy, "request")
    query = {"purged": len(report.purged), "freed": report.freed_bytes}
    return _redirect(str(URL(PAGE).with_query({**query, "remaining": report.remaining})))


def _redirect(location: str, status: int = 303) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            # same-origin, not no-referrer: with no-referrer a form's Origin would be "null".
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def _forbidden(reason: str) -> web.Response:
    main = f'<p class="error">{_e(reason)}</p><p><a href="{PAGE}">Reload the console</a></p>'
    return _html(_document("Refused", main), status=403)


# --- plain functions over plain data ------------------------------------------------------


def sort_of(query: Mapping[str, str]) -> tuple[str, str]:
    """The list's order from `?sort=&order=`; anything unknown gives the default."""
    sort, order = query.get("sort", DEFAULT_SORT[0]), query.get("order", DEFAULT_SORT[1])
    return (
        sort if sort in SORTS else DEFAULT_SORT[0],
        order if order in ORDERS else DEFAULT_SORT[1],
    )


def ordered(records: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """Records by `sort`; ties by last use, so the order never depends on the list's."""
    field = SORTS[sort]
    return sorted(
        records, key=lambda r: (r[field], r["last_used"], r["key"]), reverse=order == "desc"
    )


def policy_data(form: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The policy form as a partial policy's JSON, and the fields that are not numbers."""
    data: dict[str, Any] = {"cron": form.get("cron", "").strip(), "on_deploy": "on_deploy" in form}
    errors = []
    for name in (*NUMBERS, *INTEGERS):
        text = form.get(name, "").strip()
        try:
            value: float = int(text) if name in INTEGERS else float(text)
        except ValueError:
            kind = "a whole number" if name in INTEGERS else "a number"
            errors.append({"field": name, "reason": f"{text!r} is not {kind}"})
            continue
        if not math.isfinite(value):
            errors.append({"field": name, "reason": f"{text!r} is not a finite number"})
            continue
        data[name] = int(value) if value == int(value) else value  # "-1", not "-1.0", in errors
    return data, errors


def size(n: int) -> str:
    """Bytes for a reader: 2489 -> '2.4 KiB'."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


# --- rendering ----------------------------------------------------------------------------


def _template(name: str) -> str:
    return (resources.files("gateway.console") / "templates" / name).read_text(encoding="utf-8")


STYLE = _template("console.css")
LAYOUT = Template(_template("layout.html"))
CONSOLE = Template(_template("console.html"))
CSP = (
    "default-src 'none'; style-src "
    f"'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COLUMNS = (
    ("Key", None),
    ("Canonical header", None),
    ("App server", None),
    ("Endpoint", None),
    ("Stages", None),
    ("Hits", "hits"),
    ("In flight", None),
    ("Size", "size"),
    ("Created", None),
    ("Last used", "last_used"),
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _document(title: str, main: str, subtitle: str = "") -> str:
    return LAYOUT.substitute(title=_e(title), style=STYLE, subtitle=subtitle, main=main)


def render(
    request: web.Request,
    entered: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> str:
    gw = gateway_of(request)
    records = [a.record() for a in gw.applications]
    services = sorted((e.to_json() for e in gw.repository.list()), key=lambda e: e["id"])
    sort, order = sort_of(request.query)
    main = CONSOLE.substitute(
        notices=_notices(request.query),
        app_count=len(records),
        app_head="".join(_header(label, key, sort, order) for label, key in COLUMNS),
        app_rows=_application_rows(ordered(records, sort, order)),
        policy_errors=_errors(errors or []),
        policy_fields=_policy_fields(gw.applications.policy.to_json(), entered, errors or []),
        csrf=_e(request.app[CSRF]),
        service_count=len(services),
        service_rows=_service_rows(services),
    )
    subtitle = (
        f"node {_e(gw.config.gateway.node)} · {len(records)} applications · "
        f'{len(services)} services · <a href="#policy">purge policy</a>'
    )
    return _document("Console", main, subtitle)


def _notices(query: Mapping[str, str]) -> str:
    out = []
    if query.get("policy") == "saved":
        out.append('<p class="notice" id="saved">The purge policy is saved and in effect.</p>')
    purged, freed = _count(query.get("purged")), _count(query.get("freed"))
    remaining = _count(query.get("remaining"))
    if purged is not None and freed is not None and remaining is not None:
        out.append(
            f'<p class="notice" id="report">Purge report: purged <b>{purged}</b> '
            f"application{'s' * (purged != 1)}, freed <b>{freed} bytes</b> ({size(freed)}), "
            f"<b>{remaining}</b> remaining.</p>"
        )
    return "".join(out)


def _header(label: str, sort_key: str | None, sort: str, order: str) -> str:
    num = ' class="num"' if sort_key in ("hits", "size") else ""
    if sort_key is None:
        return f"<th>{label}</th>"
    if sort_key == sort:
        follow, arrow = ("asc", " ▼") if order == "desc" else ("desc", " ▲")
        aria = f' aria-sort="{order}ending"'
    else:
        follow, arrow, aria = "desc", "", ""
    href = _e(f"{PAGE}?sort={sort_key}&order={follow}")
    return f'<th{num}{aria}><a href="{href}" id="sort-{sort_key}">{label}{arrow}</a></th>'


def _time(stamp: str) -> str:
    shown = f"<span>{_e(stamp[:10])}</span> <span>{_e(stamp[11:19])}</span>"
    return f'<time datetime="{_e(stamp)}" title="{_e(stamp)}">{shown}</time>'


def _application_rows(records: list[dict[str, Any]]) -> str:
    rows = []
    for r in records:
        stages = " | ".join(f"<code>{_e(s)}</code>" for s in r["stages"])
        rows.append(
            f'<tr data-key="{_e(r["key"])}"><td><code>{_e(r["key"])}</code></td>'
            f'<td class="canonical wrap"><code>{_e(r["canonical"])}</code></td>'
            f"<td>{_e(r['app_server'])}</td>"
            f'<td class="endpoint wrap"><code>{_e(r["endpoint"])}</code></td>'
            f'<td>{stages}</td><td class="num">{_e(r["hits"])}</td>'
            f'<td class="num">{_e(r["in_flight"])}</td>'
            f'<td class="num" title="{_e(r["size_bytes"])} bytes">{size(r["size_bytes"])}</td>'
            f"<td>{_time(r['created'])}</td><td>{_time(r['last_used'])}</td></tr>"
        )
    return "\n".join(rows) or (
        f'<tr><td colspan="{len(COLUMNS)}" class="empty">No applications.</td></tr>'
    )


def _errors(errors: list[dict[str, str]]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li><b>{_e(e['field'])}</b>: {_e(e['reason'])}</li>" for e in errors)
    return f'<div class="error" id="errors">The policy is unchanged:<ul>{items}</ul></div>'


def _policy_fields(
    current: dict[str, Any], entered: Mapping[str, str] | None, errors: list[dict[str, str]]
) -> str:
    """The form's rows: the values as entered after a refusal, else the policy's."""
    bad = {e["field"]: e["reason"] for e in errors}
    rows = []
    for name, help_text in POLICY_FIELDS:
        invalid = ' aria-invalid="true"' if name in bad else ""
        if name == "on_deploy":
            on = "on_deploy" in entered if entered is not None else current["on_deploy"]
            control = f'<input type="checkbox" id="{name}" name="{name}"{" checked" * on}>'
        else:
            value = entered.get(name, "") if entered is not None else _plain(current[name])
            kind = 'type="text"' if name == "cron" else 'type="number" min="0" step="any"'
            control = f'<input {kind} id="{name}" name="{name}" value="{_e(value)}"{invalid}>'
        note = f'<span class="help bad">{_e(bad[name])}</span>' if name in bad else ""
        note = note or f'<span class="help">{_e(help_text)}</span>'
        rows.append(f'<label for="{name}">{name}</label>{control}{note}')
    return "\n".join(rows)


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _service_rows(services: list[dict[str, Any]]) -> str:
    rows = [
        f'<tr data-id="{_e(s["id"])}"><td><code>{_e(s["id"])}</code></td><td>{_e(s["kind"])}</td>'
        f"<td>{'yes' if s['enabled'] else '<b>no</b>'}</td>"
        f"<td><code>{_e(', '.join(s['input']))}</code></td><td><code>{_e(s['output'])}</code></td>"
        f"<td>{_e(s['description'])}</td></tr>"
        for s in services
    ]
    return "\n".join(rows) or '<tr><td colspan="6" class="empty">No services.</td></tr>'
