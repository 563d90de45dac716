"""The console's services and imports: an Enable or Disable button a service, its
parameters and its description (backticks as `<code>`), and a Refresh button an import.

A service held back (its python module no longer allowed, SPEC §10.2) shows why, and no
Enable button: enabling it would be refused. With the shared repository out of reach
neither table can be read; the page says so and shows the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Template
from typing import Any
from urllib.parse import quote

from gateway.console.markup import esc, prose, template, time_tag

SERVICES = Template(template("services.html"))
IMPORTS = Template(template("imports.html"))
IMPORT_SHOWN = 12  # digits of an import's id


def services_section(services: Sequence[Mapping[str, Any]] | None, csrf: str) -> str:
    """The services' table; `None`: the repository is out of reach."""
    if services is None:
        return SERVICES.substitute(
            service_count="?", services_note=_unreachable("services"), service_rows=""
        )
    rows = "\n".join(_service_row(s, csrf) for s in services)
    return SERVICES.substitute(
        service_count=len(services),
        services_note="",
        service_rows=rows or '<tr><td colspan="7" class="empty">No services.</td></tr>',
    )


def imports_section(imports: Sequence[tuple[Mapping[str, Any], int]] | None, csrf: str) -> str:
    """The imports' table, each with how many services it made; `None`: out of reach."""
    if imports is None:
        return f'<h2 id="imports-title">Imports</h2>{_unreachable("imports")}'
    rows = "\n".join(_import_row(record, made, csrf) for record, made in imports)
    return IMPORTS.substitute(
        import_count=len(imports),
        import_rows=rows or '<tr><td colspan="8" class="empty">No imports.</td></tr>',
    )


def _unreachable(what: str) -> str:
    return (
        f'<p class="error" id="{what}-unreachable">The shared repository is out of reach: the '
        f"{what} are shown again when it is back. Deployed applications keep serving.</p>"
    )


def _button(action: str, csrf: str, label: str, id: str, css: str = "small") -> str:
    return (
        f'<form method="post" action="{esc(action)}">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        f'<button type="submit" class="{css}" id="{esc(id)}">{label}</button></form>'
    )


def _service_row(s: Mapping[str, Any], csrf: str) -> str:
    sid = s["id"]
    path = f"/ui/services/{quote(sid, safe='')}"
    if "held" in s:
        state = f'<span class="badge off">held</span><span class="help bad">{esc(s["held"])}</span>'
    elif s["enabled"]:
        state = '<span class="badge on">yes</span>' + _button(
            path + "/disable", csrf, "Disable", f"disable-{sid}"
        )
    else:
        state = '<span class="badge off">no</span>' + _button(
            path + "/enable", csrf, "Enable", f"enable-{sid}"
        )
    return (
        f'<tr data-id="{esc(sid)}"><td><code>{esc(sid)}</code></td>'
        f'<td>{esc(s["kind"])}</td><td class="toggle">{state}</td>'
        f"<td><code>{esc(', '.join(s['input']))}</code></td>"
        f"<td><code>{esc(s['output'])}</code></td>"
        f'<td class="prose">{prose(s["description"])}</td>'
        f'<td class="params">{_params_cell(s["params"])}</td></tr>'
    )


def _params_cell(params: Mapping[str, Any]) -> str:
    """Each parameter: its name, where it goes (an http one's `in`), and its description."""
    lines = []
    for name, schema in params.items():
        where = f" ({esc(schema['in'])})" if isinstance(schema.get("in"), str) else ""
        doc = schema.get("description")
        lines.append(f"<code>{esc(name)}</code>{where}" + (f": {prose(doc)}" if doc else ""))
    return "<br>".join(lines) or '<span class="empty">none</span>'


def _import_row(record: Mapping[str, Any], made: int, csrf: str) -> str:
    iid = record["id"]
    if record["url"]:
        source = f"<code>{esc(record['url'])}</code>"
    else:
        base = record.get("base_url")
        source = "a document" + (f", base <code>{esc(base)}</code>" if base else "")
    every = record.get("refresh_s") or 0
    refresh = _button(
        f"/ui/imports/{quote(iid, safe='')}/refresh", csrf, "Refresh", f"refresh-{iid}"
    )
    return (
        f'<tr data-import="{esc(iid)}">'
        f'<td><code title="{esc(iid)}">{esc(iid[:IMPORT_SHOWN])}…</code></td>'
        f'<td>{esc(record["kind"])}</td><td class="source">{source}</td>'
        f'<td>{_code(record.get("prefix"))}</td><td class="num">{made:,}</td>'
        f"<td>{f'{every:g} s' if every else 'never'}</td>"
        f"<td>{time_tag(record['created'])}</td><td>{refresh}</td></tr>"
    )


def _code(value: str | None) -> str:
    return f"<code>{esc(value)}</code>" if value else '<span class="empty">none</span>'
