"""The console's HTML: the page, the 403 and 404 pages, the headers they are served with,
redirects. The sections are the views' (`traffic_view`, `applications_view`,
`services_view`, `clients_view`); this module puts them on one page.

Every value shown goes through `html.escape` (`markup.esc`): a canonical header is a
client's text. The Content-Security-Policy allows the page's own style (by the hash of
templates/console.css, inlined) and one script, the console's own file (`/ui/console.js`,
the auto-refresh): no inline script, nothing from elsewhere, no framing. The page works
without it, only without refreshing itself.

With the shared repository out of reach (SPEC §6) the page shows what memory holds: the
traffic, the applications, the policy, the clients; not the services, imports and audit.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from string import Template
from typing import Any

from aiohttp import web

from gateway.console.applications_view import applications_section
from gateway.console.charts import clock
from gateway.console.clients_view import AUDIT_SHOWN, ClientForm, audit_section, clients_section
from gateway.console.forms import (
    POLICY_FIELDS,
    application_key,
    client_id,
    count,
    size,
    view_of,
)
from gateway.console.history import INTERVAL_S, Sampler
from gateway.console.markup import esc, field_row, template
from gateway.console.services_view import imports_section, services_section
from gateway.console.traffic_view import traffic_panel
from gateway.keys import gateway_of
from gateway.runtime import Gateway

PAGE = "/ui"
SCRIPT = PAGE + "/console.js"
REFRESH_S = 10  # the page's auto-refresh, as often as the traffic is sampled
# The value of every form's hidden `csrf` field, made once per process by `add_routes`;
# `signin.checked_form` checks each POST against it.
CSRF = web.AppKey("console_csrf", str)
# The traffic's sampler, started and stopped with the admin app.
SAMPLER = web.AppKey("console_sampler", Sampler)


STYLE = template("console.css")
LAYOUT = Template(template("layout.html"))
CONSOLE = Template(template("console.html"))
CSP = (
    "default-src 'none'; script-src 'self'; style-src "
    f"'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def html(body: str, status: int = 200) -> web.Response:
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


def redirect(location: str, status: int = 303) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def forbidden(reason: str) -> web.Response:
    return html(_document("Refused", _reason(reason)), status=403)


def not_found(reason: str) -> web.Response:
    return html(_document("Not found", _reason(reason)), status=404)


def _reason(reason: str) -> str:
    return f'<p class="error">{esc(reason)}</p><p><a href="{PAGE}">Reload the console</a></p>'


def _document(title: str, main: str, subtitle: str = "", refresh: str = "") -> str:
    return LAYOUT.substitute(
        title=esc(title), style=STYLE, subtitle=subtitle, refresh=refresh, main=main
    )


async def render(
    request: web.Request,
    entered: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    client_form: ClientForm | None = None,
    refusal: str | None = None,
) -> str:
    """The page; `entered` and `errors` are the policy form's after a refusal, `refusal` a
    row action's. Only the page of a GET refreshes itself (never a form's answer)."""
    gw = gateway_of(request)
    records = await gw.application_records()
    reachable = gw.repository_state != "disconnected"
    services = _services(gw) if reachable else None
    imports = _imports(gw) if reachable else None
    clients = [c.to_json() for c in gw.clients]
    audit = None
    if gw.audit is not None and reachable:
        audit = await gw.audit.query(limit=AUDIT_SHOWN)
    csrf = request.app[CSRF]
    main = CONSOLE.substitute(
        notices=_refusal(refusal) + _notices(request.query, records, services, clients),
        interval=f"{INTERVAL_S:g}",
        traffic=traffic_panel(request.app[SAMPLER].history.intervals()),
        applications=applications_section(records, view_of(request.query), csrf),
        policy_errors=_errors(errors or []),
        policy_fields=_policy_fields(gw.applications.policy.to_json(), entered, errors or []),
        csrf=esc(csrf),
        services=services_section(services, csrf),
        imports=imports_section(imports, csrf),
        clients=clients_section(clients, gw.clients_required, csrf, client_form or ClientForm()),
        audit=audit_section(audit),
    )
    live = request.method == "GET" and refusal is None
    return _document(
        "Console", main, _subtitle(gw, records, services, clients, audit), _refresh(live)
    )


def _services(gw: Gateway) -> list[dict[str, Any]]:
    return sorted((gw.entry_json(e) for e in gw.repository.list()), key=lambda e: e["id"])


def _imports(gw: Gateway) -> list[tuple[dict[str, Any], int]]:
    repo = gw.repository
    return [(r.to_json(), len(repo.import_entries(r.id))) for r in repo.list_imports()]


def _subtitle(
    gw: Gateway,
    records: list[dict[str, Any]],
    services: list[dict[str, Any]] | None,
    clients: list[dict[str, Any]],
    audit: list[dict[str, Any]] | None,
) -> str:
    repository = (
        f"{len(services)} services"
        if services is not None
        else '<b class="bad">repository out of reach</b>'
    )
    return (
        f"node {esc(gw.config.gateway.node)} · "
        f'<a href="#applications-title">{len(records):,} applications</a> · '
        f'<a href="#services-title">{repository}</a> · <a href="#policy">purge policy</a> · '
        f'<a href="#clients-title">{len(clients)} clients</a>'
        + (' · <a href="#audit-title">audit</a>' if audit is not None else "")
        + f' · as of <time id="as-of">{clock(time.time())} UTC</time>'
    )


def _refresh(live: bool) -> str:
    """The auto-refresh's control, shown by the script (hidden without it)."""
    if not live:
        return ""
    return (
        f'<div class="refresh" id="refresh" data-seconds="{REFRESH_S}" hidden>'
        f'<span id="refresh-state">refreshes every {REFRESH_S} s</span> '
        '<button type="button" id="refresh-toggle" aria-pressed="false">Pause</button></div>'
    )


def _refusal(reason: str | None) -> str:
    return "" if reason is None else f'<p class="error" id="refused">{esc(reason)}</p>'


def _notices(
    query: Mapping[str, str],
    records: list[dict[str, Any]],
    services: list[dict[str, Any]] | None,
    clients: list[dict[str, Any]],
) -> str:
    out = []
    if query.get("policy") == "saved":
        out.append('<p class="notice" id="saved">The purge policy is saved and in effect.</p>')
    purged, freed = count(query.get("purged")), count(query.get("freed"))
    remaining = count(query.get("remaining"))
    if purged is not None and freed is not None and remaining is not None:
        out.append(
            f'<p class="notice" id="report">Purge report: purged <b>{purged}</b> '
            f"application{'s' * (purged != 1)}, freed <b>{freed} bytes</b> ({size(freed)}), "
            f"<b>{remaining}</b> remaining.</p>"
        )
    revoked = client_id(query.get("revoked"))
    if revoked is not None and revoked not in {c["id"] for c in clients}:
        out.append(
            f'<p class="notice" id="revoked">Client <code>{esc(revoked)}</code> is revoked: '
            "its next request is refused (401).</p>"
        )
    undeployed = application_key(query.get("undeployed"))
    if undeployed is not None and undeployed not in {r["key"] for r in records}:
        out.append(
            f'<p class="notice" id="undeployed">Application <code>{undeployed}</code> is '
            "undeployed: its next request assembles it again.</p>"
        )
    out.extend(_service_notices(query, services or []))
    return "".join(out)


def _service_notices(query: Mapping[str, str], services: list[dict[str, Any]]) -> list[str]:
    """A service just enabled or disabled, when it is so (a query names only known ids)."""
    out = []
    state = {s["id"]: s["enabled"] for s in services}
    for word, enabled, outcome in (
        ("enabled", True, "it resolves again"),
        ("disabled", False, "it is out of resolution and its applications are undeployed"),
    ):
        sid = query.get(word)
        if sid is not None and state.get(sid) is enabled:
            out.append(
                f'<p class="notice" id="service-{word}">Service <code>{esc(sid)}</code> is '
                f"{word}: {outcome}.</p>"
            )
    refreshed = query.get("refreshed")
    changes = [count(query.get(k)) for k in ("added", "changed", "removed")]
    if refreshed is not None and None not in changes:
        added, changed, removed = changes
        out.append(
            f'<p class="notice" id="import-refreshed">Import <code>{esc(refreshed[:32])}</code> '
            f"is read again: {added} services added, {changed} changed, {removed} removed.</p>"
        )
    return out


def _errors(errors: list[dict[str, str]]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li><b>{esc(e['field'])}</b>: {esc(e['reason'])}</li>" for e in errors)
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
            control = f'<input {kind} id="{name}" name="{name}" value="{esc(value)}"{invalid}>'
        rows.append(field_row(name, name, control, bad.get(name), help_text))
    return "\n".join(rows)


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
