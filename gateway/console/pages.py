"""The console's HTML: the page, the 403 and 404 pages, the headers they are served with,
redirects. The clients and audit sections are `clients_view`'s.

Every value shown goes through `html.escape` (`markup.esc`): a canonical header is a
client's text. The Content-Security-Policy allows no script, only the page's own style (by
the hash of templates/console.css, inlined), no framing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from string import Template
from typing import Any

from aiohttp import web

from gateway.console.clients_view import AUDIT_SHOWN, ClientForm, audit_section, clients_section
from gateway.console.forms import POLICY_FIELDS, client_id, count, ordered, size, sort_of
from gateway.console.markup import esc, field_row, template, time_tag
from gateway.keys import gateway_of

PAGE = "/ui"
# The value of every form's hidden `csrf` field, made once per process by `add_routes`;
# `signin.checked_form` checks each POST against it.
CSRF = web.AppKey("console_csrf", str)


STYLE = template("console.css")
LAYOUT = Template(template("layout.html"))
CONSOLE = Template(template("console.html"))
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


def _document(title: str, main: str, subtitle: str = "") -> str:
    return LAYOUT.substitute(title=esc(title), style=STYLE, subtitle=subtitle, main=main)


async def render(
    request: web.Request,
    entered: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    client_form: ClientForm | None = None,
) -> str:
    """The page; `entered` and `errors` are the policy form's after a refusal."""
    gw = gateway_of(request)
    records = await gw.application_records()
    services = sorted((e.to_json() for e in gw.repository.list()), key=lambda e: e["id"])
    clients = [c.to_json() for c in gw.clients]
    audit = None if gw.audit is None else await gw.audit.query(limit=AUDIT_SHOWN)
    sort, order = sort_of(request.query)
    csrf = request.app[CSRF]
    main = CONSOLE.substitute(
        notices=_notices(request.query, {c["id"] for c in clients}),
        app_count=len(records),
        app_head="".join(_header(label, key, sort, order) for label, key in COLUMNS),
        app_rows=_application_rows(ordered(records, sort, order)),
        policy_errors=_errors(errors or []),
        policy_fields=_policy_fields(gw.applications.policy.to_json(), entered, errors or []),
        csrf=esc(csrf),
        service_count=len(services),
        service_rows=_service_rows(services),
        clients=clients_section(clients, gw.clients_required, csrf, client_form or ClientForm()),
        audit=audit_section(audit),
    )
    subtitle = (
        f"node {esc(gw.config.gateway.node)} · {len(records)} applications · "
        f'{len(services)} services · <a href="#policy">purge policy</a> · '
        f'<a href="#clients-title">{len(clients)} clients</a>'
        + (' · <a href="#audit-title">audit</a>' if audit is not None else "")
    )
    return _document("Console", main, subtitle)


def _notices(query: Mapping[str, str], client_ids: set[str]) -> str:
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
    if revoked is not None and revoked not in client_ids:
        out.append(
            f'<p class="notice" id="revoked">Client <code>{esc(revoked)}</code> is revoked: '
            "its next request is refused (401).</p>"
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
    href = esc(f"{PAGE}?sort={sort_key}&order={follow}")
    return f'<th{num}{aria}><a href="{href}" id="sort-{sort_key}">{label}{arrow}</a></th>'


def _application_rows(records: list[dict[str, Any]]) -> str:
    rows = []
    for r in records:
        stages = " | ".join(f"<code>{esc(s)}</code>" for s in r["stages"])
        rows.append(
            f'<tr data-key="{esc(r["key"])}"><td><code>{esc(r["key"])}</code></td>'
            f'<td class="canonical wrap"><code>{esc(r["canonical"])}</code></td>'
            f"<td>{esc(r['app_server'])}</td>"
            f'<td class="endpoint wrap"><code>{esc(r["endpoint"])}</code></td>'
            f'<td>{stages}</td><td class="num">{esc(r["hits"])}</td>'
            f'<td class="num">{esc(r["in_flight"])}</td>'
            f'<td class="num" title="{esc(r["size_bytes"])} bytes">{size(r["size_bytes"])}</td>'
            f"<td>{time_tag(r['created'])}</td><td>{time_tag(r['last_used'])}</td></tr>"
        )
    return "\n".join(rows) or (
        f'<tr><td colspan="{len(COLUMNS)}" class="empty">No applications.</td></tr>'
    )


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


def _params_cell(params: Mapping[str, Any]) -> str:
    """Each parameter: its name, where it goes (an http one's `in`), and its description."""
    lines = []
    for name, schema in params.items():
        where = f" ({esc(schema['in'])})" if isinstance(schema.get("in"), str) else ""
        doc = schema.get("description")
        lines.append(f"<code>{esc(name)}</code>{where}" + (f": {esc(doc)}" if doc else ""))
    return "<br>".join(lines)


def _service_rows(services: list[dict[str, Any]]) -> str:
    rows = [
        f'<tr data-id="{esc(s["id"])}"><td><code>{esc(s["id"])}</code></td>'
        f"<td>{esc(s['kind'])}</td><td>{'yes' if s['enabled'] else '<b>no</b>'}</td>"
        f"<td><code>{esc(', '.join(s['input']))}</code></td>"
        f"<td><code>{esc(s['output'])}</code></td>"
        f"<td>{esc(s['description'])}</td><td>{_params_cell(s['params'])}</td></tr>"
        for s in services
    ]
    return "\n".join(rows) or '<tr><td colspan="7" class="empty">No services.</td></tr>'
