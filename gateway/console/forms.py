"""What the console reads from its query and its forms: plain functions, plain data.

`?q=&sort=&order=&page=` is the application list's view (`View`): `q` keeps the
applications whose key, canonical header or a stage's service contains it (case aside),
`sort` and `order` order them (an unknown value gives the default), `page` is one of
PER_PAGE rows. A form that acts on a row carries the view in hidden fields, so that its
redirect shows the list as it was. The policy
form becomes a partial policy's JSON for the purge policy to check; the fields that are not
numbers come back as errors of the policy's own shape (`field`, `reason`). The client form
becomes the body of `POST /clients`, for the clients to check as they check the API's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SORTS = {"last_used": "last_used", "hits": "hits", "size": "size_bytes"}
ORDERS = ("asc", "desc")
DEFAULT_SORT = ("last_used", "desc")
PER_PAGE = 50
FILTER_MAX = 200  # characters of `q` kept

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
CLIENT_FIELDS = (
    ("name", "a label for people; need not be unique"),
    (
        "allow",
        "the services it may use, one a line or comma-separated: a name or id, shell-style "
        "(customer.cz.*, *), or wsdl:HOST/PATH for the SOAP services of that WSDL",
    ),
    ("description", "what the integration is, for the record"),
    ("source", "the sending system's http or https URL"),
    ("sends", "the media types it sends, comma-separated (information, not a check)"),
)
# A pattern has no spaces (repository.clients), so any run of spaces, commas or line ends
# parts two; a media type's parameters may hold spaces, so only commas and line ends do.
_PATTERNS_APART = re.compile(r"[\s,]+")
_TYPES_APART = re.compile(r"[,\r\n]+")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY = re.compile(r"[0-9a-f]{32}")


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


@dataclass(frozen=True)
class View:
    """How the application list is shown: filtered by `q`, ordered, one page of it."""

    q: str = ""
    sort: str = DEFAULT_SORT[0]
    order: str = DEFAULT_SORT[1]
    page: int = 1

    def query(self, **changes: Any) -> dict[str, str]:
        """The view as a query, with `changes`; what is the default is left out."""
        values = {"sort": self.sort, "order": self.order, "q": self.q, "page": self.page}
        values.update(changes)
        kept: dict[str, str] = {}
        if (values["sort"], values["order"]) != DEFAULT_SORT:
            kept.update(sort=values["sort"], order=values["order"])
        if values["q"]:
            kept["q"] = values["q"]
        if values["page"] != 1:
            kept["page"] = str(values["page"])
        return kept


def view_of(query: Mapping[str, str]) -> View:
    """The view from a query (or a row form's hidden fields); nonsense gives the default."""
    sort, order = sort_of(query)
    page = count(query.get("page"))
    return View(query.get("q", "").strip()[:FILTER_MAX], sort, order, max(page or 1, 1))


def matching(records: list[dict[str, Any]], q: str) -> list[dict[str, Any]]:
    """The records whose key, canonical header or a stage's service id contains `q`."""
    if not q:
        return records
    q = q.lower()
    return [
        r
        for r in records
        if q in r["key"] or q in r["canonical"].lower() or any(q in s.lower() for s in r["stages"])
    ]


def paged(
    records: Sequence[dict[str, Any]], page: int
) -> tuple[Sequence[dict[str, Any]], int, int]:
    """One page of the records, the page shown (the last if `page` is past it), and how many
    pages there are."""
    pages = max(1, math.ceil(len(records) / PER_PAGE))
    page = min(page, pages)
    return records[(page - 1) * PER_PAGE : page * PER_PAGE], page, pages


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


def client_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The client form as the JSON body of `POST /clients`; empty optional fields left out."""
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "allow": _parts(_PATTERNS_APART, form.get("allow", "")),
    }
    for name in ("description", "source"):
        text = form.get(name, "").strip()
        if text:
            data[name] = text
    sends = _parts(_TYPES_APART, form.get("sends", ""))
    if sends:
        data["sends"] = sends
    return data


def _parts(apart: re.Pattern[str], text: str) -> list[str]:
    return [part.strip() for part in apart.split(text) if part.strip()]


def application_key(value: str | None) -> str | None:
    """An application key from the query (an undeployment's notice), or None unless it is one."""
    return value if value is not None and _KEY.fullmatch(value) else None


def client_id(value: str | None) -> str | None:
    """A client id from the query (a revocation's notice), or None unless it looks like one."""
    return value if value is not None and _CLIENT_ID.fullmatch(value) else None


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


def count(value: str | None) -> int | None:
    """A count from the query (the purge report's), or None unless it is plain digits."""
    return int(value) if value is not None and value.isascii() and value.isdigit() else None
