"""The console's application list: the filter, the table of one page, its pager, and an
Undeploy button a row.

The list may hold a hundred thousand applications: they are filtered and ordered as plain
records (`forms`), and only the page shown is written as HTML. A row keeps to a line or
two so that a page fits the screen's width: the key shows its first 12 digits, a long
canonical header its first two lines, and each the whole on hover (`title`); the app
server's cell has the endpoint on hover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Template
from typing import Any
from urllib.parse import urlencode

from gateway.console.forms import PER_PAGE, View, matching, ordered, paged, size
from gateway.console.markup import esc, template, time_tag

APPLICATIONS = Template(template("applications.html"))
KEY_SHOWN = 12
COLUMNS = (
    ("Key", None),
    ("Canonical header", None),
    ("Stages", None),
    ("App server", None),
    ("Hits", "hits"),
    ("In flight", None),
    ("Size", "size"),
    ("Created (UTC)", None),
    ("Last used (UTC)", "last_used"),
    ("", None),
)


def applications_section(records: list[dict[str, Any]], view: View, csrf: str) -> str:
    found = ordered(matching(records, view.q), view.sort, view.order)
    rows, page, pages = paged(found, view.page)
    view = View(view.q, view.sort, view.order, page)
    return APPLICATIONS.substitute(
        app_count=f"{len(records):,}",
        q=esc(view.q),
        sort_fields=_hidden(view.query(q="", page=1)),
        clear='<a href="/ui#applications-title" id="clear-filter">Clear</a>' if view.q else "",
        shown=_shown(len(found), (page - 1) * PER_PAGE, len(rows), view.q),
        app_head="".join(_header(label, key, view) for label, key in COLUMNS),
        app_rows=_rows(rows, view, csrf),
        pager=_pager(view, pages),
    )


def href(view: View, fragment: str = "", **changes: Any) -> str:
    """The console's URL of the view with `changes`, escaped for an attribute."""
    query = urlencode(view.query(**changes))
    return esc("/ui" + (f"?{query}" if query else "") + fragment)


def _shown(found: int, first: int, rows: int, q: str) -> str:
    matched = f" matching <code>{esc(q)}</code>" if q else ""
    if not rows:
        return f"none{matched}" if q else ""
    return f"showing {first + 1:,}–{first + rows:,} of {found:,}{matched}"


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items()
    )


def _header(label: str, sort_key: str | None, view: View) -> str:
    num = ' class="num"' if sort_key in ("hits", "size") or label == "In flight" else ""
    if sort_key is None:
        return f"<th{num}>{label}</th>"
    if sort_key == view.sort:
        follow, arrow = ("asc", " ▼") if view.order == "desc" else ("desc", " ▲")
        aria = f' aria-sort="{view.order}ending"'
    else:
        follow, arrow, aria = "desc", "", ""
    link = href(View(view.q, sort_key, follow), "#applications-title")
    return f'<th{num}{aria}><a href="{link}" id="sort-{sort_key}">{label}{arrow}</a></th>'


def _rows(records: Sequence[dict[str, Any]], view: View, csrf: str) -> str:
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}">' + _hidden(view.query())
    rows = []
    for r in records:
        key = esc(r["key"])
        worker = r.get("worker")
        stages = " | ".join(f"<code>{esc(s)}</code>" for s in r["stages"])
        server = esc(r["app_server"]) + (f" · w{esc(worker)}" if worker is not None else "")
        button_id = f"undeploy-{key}" + (f"-w{esc(worker)}" if worker is not None else "")
        canonical = esc(r["canonical"])
        rows.append(
            f'<tr data-key="{key}">'
            f'<td class="key"><code title="{key}">{key[:KEY_SHOWN]}…</code></td>'
            f'<td class="canonical"><code title="{canonical}">{canonical}</code></td>'
            f'<td class="stages">{stages}</td>'
            f'<td title="{esc(r["endpoint"])}">{server}</td>'
            f'<td class="num">{r["hits"]:,}</td><td class="num">{r["in_flight"]:,}</td>'
            f'<td class="num" title="{r["size_bytes"]} bytes">{size(r["size_bytes"])}</td>'
            f"<td>{time_tag(r['created'])}</td><td>{time_tag(r['last_used'])}</td>"
            f'<td><form method="post" action="/ui/applications/{key}/undeploy">{hidden}'
            f'<button type="submit" class="danger small" id="{button_id}" '
            f'aria-label="Undeploy {key}">Undeploy</button></form></td></tr>'
        )
    empty = "No applications match." if view.q else "No applications."
    return "\n".join(rows) or f'<tr><td colspan="{len(COLUMNS)}" class="empty">{empty}</td></tr>'


def _pager(view: View, pages: int) -> str:
    if pages == 1:
        return ""
    page = view.page

    def to(n: int, label: str, id: str) -> str:
        if n == page or not 1 <= n <= pages:
            return f'<span class="off">{label}</span>'
        return f'<a href="{href(view, "#applications-title", page=n)}" id="{id}">{label}</a>'

    return (
        '<nav class="pager" aria-label="Pages of applications">'
        f"{to(1, '« First', 'page-first')}{to(page - 1, '‹ Previous', 'page-previous')}"
        f'<span id="page-of">page {page:,} of {pages:,}</span>'
        f"{to(page + 1, 'Next ›', 'page-next')}{to(pages, 'Last »', 'page-last')}</nav>"
    )
