"""The console's clients and audit (SPEC §9): the clients' table with a Revoke button each,
the form that adds one, the box that shows a new client's secret, the newest audit records.

A secret is in one answer only: the page answering the form that made the client, never a
redirect's URL (so never in the browser's history), and `Cache-Control: no-store` like
every console page. Every value shown is escaped: a client's name and record are an
operator's text, an audit record's key a client's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any
from urllib.parse import quote

from gateway.console.forms import CLIENT_FIELDS
from gateway.console.markup import esc, field_row, template, time_tag

CLIENTS = Template(template("clients.html"))
AUDIT = Template(template("audit.html"))
AUDIT_SHOWN = 20
COLUMNS = 9


@dataclass(frozen=True)
class ClientForm:
    """The add-a-client form as the page answers it: the values as entered and their
    errors after a refusal, or the client just made with its secret (`made`)."""

    entered: Mapping[str, str] | None = None
    errors: Sequence[Mapping[str, str]] = ()
    made: Mapping[str, Any] | None = None


def clients_section(
    clients: Sequence[Mapping[str, Any]], required: bool, csrf: str, form: ClientForm
) -> str:
    return CLIENTS.substitute(
        client_count=len(clients),
        required=_required(required),
        made=_made(form.made),
        client_rows=_client_rows(clients, csrf),
        client_errors=_errors(form.errors),
        client_fields=_fields(form.entered, form.errors),
        csrf=esc(csrf),
    )


def audit_section(records: Sequence[Mapping[str, Any]] | None) -> str:
    """The newest records; nothing at all when the audit is off (None)."""
    if records is None:
        return ""
    rows = "\n".join(
        f"<tr><td>{time_tag(r['received'])}</td><td>{time_tag(r['finished'])}</td>"
        f'<td>{_code(r["client"])}</td><td class="num">{esc(r["status"])}</td>'
        f"<td>{_code(r['key'])}</td>"
        f"<td>{' | '.join(f'<code>{esc(s)}</code>' for s in r['stages'])}</td></tr>"
        for r in records
    )
    empty = '<tr><td colspan="6" class="empty">No requests recorded yet.</td></tr>'
    return AUDIT.substitute(
        audit_count=len(records), audit_limit=AUDIT_SHOWN, audit_rows=rows or empty
    )


def _code(value: str | None) -> str:
    return f"<code>{esc(value)}</code>" if value else '<span class="empty">none</span>'


def _required(required: bool) -> str:
    if required:
        return (
            "Integration requests must carry a client's credentials "
            "(<code>[gateway] require_client_auth = true</code>)."
        )
    return (
        "Clients are not required now (<code>[gateway] require_client_auth = false</code>); "
        "they are kept for when they are."
    )


def _made(made: Mapping[str, Any] | None) -> str:
    if made is None:
        return ""
    return (
        '<div class="secret" id="made" role="status">'
        f"<p><b>Client {esc(made['name'])} is made. Copy its secret now; it is not shown "
        "again</b> (the gateway keeps only its hash).</p>"
        f'<p>Id <code id="made-id">{esc(made["id"])}</code></p>'
        f'<p>Secret <code id="made-secret">{esc(made["secret"])}</code></p>'
        '<p class="help">The client sends <code>Authorization: Basic base64(id:secret)</code>. '
        "A lost secret is not recoverable: <code>integration-gateway clients rotate ID</code> "
        "makes a new one.</p></div>"
    )


def _client_rows(clients: Sequence[Mapping[str, Any]], csrf: str) -> str:
    rows = []
    for c in clients:
        action = esc(f"/ui/clients/{quote(c['id'], safe='')}/revoke")
        revoke = (
            f'<form method="post" action="{action}">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'<button type="submit" class="danger" id="revoke-{esc(c["id"])}" '
            f'aria-label="Revoke client {esc(c["name"])}">Revoke</button></form>'
        )
        rows.append(
            f'<tr data-client="{esc(c["id"])}"><td><code>{esc(c["id"])}</code></td>'
            f"<td>{esc(c['name'])}</td><td>{_codes(c['allow'])}</td>"
            f"<td>{esc(c['description'])}</td>"
            f'<td class="wrap"><code>{esc(c["source"])}</code></td><td>{_codes(c["sends"])}</td>'
            f"<td>{time_tag(c['created'])}</td><td>{time_tag(c['secret_created'])}</td>"
            f"<td>{revoke}</td></tr>"
        )
    return "\n".join(rows) or (f'<tr><td colspan="{COLUMNS}" class="empty">No clients.</td></tr>')


def _codes(values: Sequence[str]) -> str:
    return ", ".join(f"<code>{esc(v)}</code>" for v in values)


def _errors(errors: Sequence[Mapping[str, str]]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li><b>{esc(e['field'])}</b>: {esc(e['reason'])}</li>" for e in errors)
    return f'<div class="error" id="client-errors">No client is made:<ul>{items}</ul></div>'


def _fields(entered: Mapping[str, str] | None, errors: Sequence[Mapping[str, str]]) -> str:
    """The form's rows, empty or as entered; each field's errors next to it (`allow/2`, an
    error of the third pattern, is the `allow` field's)."""
    bad: dict[str, list[str]] = {}
    for e in errors:
        bad.setdefault(e["field"].partition("/")[0], []).append(e["reason"])
    rows = []
    for name, help_text in CLIENT_FIELDS:
        value = esc((entered or {}).get(name, ""))
        at = f'id="client-{name}" name="{name}"' + ' aria-invalid="true"' * (name in bad)
        if name == "allow":
            control = f'<textarea {at} rows="3">{value}</textarea>'
        else:
            kind = "url" if name == "source" else "text"
            control = f'<input type="{kind}" {at} value="{value}"{" required" * (name == "name")}>'
        error = "; ".join(bad[name]) if name in bad else None
        rows.append(field_row(f"client-{name}", name, control, error, help_text))
    return "\n".join(rows)
