"""Rows of the console (issue 14): `GET /ui` rendered in this process with 100,000
applications deployed, beside the same page with 1,000.

The applications are real ones, the tiny applications of the application list's rows
(bench.inproc), hosted on the gateway's own list; the page is rendered as its handler
renders it (`pages.render` on a request of the admin app): every record read, filtered,
ordered, one page of 50 rows written, the traffic panel drawn. The figure is ms a page, the
best of a few. What grows with the list is reading the records, not the HTML: the third
row is `Gateway.application_records()` alone (what `GET /applications` does too), beside
the page that includes it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import make_mocked_request

from bench.inproc import _applications
from bench.table import Row
from gateway.admin import create_admin_app
from gateway.config import from_dict
from gateway.console.pages import render
from gateway.runtime import Gateway

GROUP = "console (GET /ui rendered in process, 50 rows a page)"


def console_rows(*, smoke: bool) -> list[Row]:
    small, large = (100, 2_000) if smoke else (1_000, 100_000)
    folder = Path(tempfile.mkdtemp(prefix="igw-bench-console-"))
    base, _ = asyncio.run(_render_ms(folder / "small", small, repeat=5))
    rows = []
    for query, label in (
        ("", "most recently used first"),
        ("?q=tiny(n%3D9&sort=hits", "filtered (1 in 9), by hits"),
    ):
        got, records = asyncio.run(_render_ms(folder / f"large{len(rows)}", large, query))
        rows.append(
            Row(GROUP, f"{large:,} applications, {label}", got, "ms",
                base, f"ms {small:,} applications", base / got)
        )  # fmt: skip
    rows.append(
        Row(GROUP, f"{large:,} applications: their records alone", records, "ms",
            got, "ms the page")
    )  # fmt: skip
    return rows


async def _render_ms(folder: Path, n: int, query: str = "", repeat: int = 3) -> tuple[float, float]:
    """The best ms of rendering the page, and of reading the records it shows."""
    folder.mkdir(parents=True)
    gw = Gateway(
        from_dict(
            {
                "repository": {"path": str(folder / "repo.db")},
                "purge": {"interval_s": 0, "on_deploy": False, "max_apps": 10_000_000},
                "services": {"logger": {"dir": str(folder / "log")}},
            },
            base_dir=folder,
        )
    )
    try:
        for app in _applications(n, time.time_ns()):
            await gw.applications.add(app)
        admin = create_admin_app(gw)
        pages, records = [], []
        for _ in range(repeat):
            request = make_mocked_request("GET", "/ui" + query, app=admin)
            started = time.perf_counter()
            page = await render(request)
            pages.append(time.perf_counter() - started)
            started = time.perf_counter()
            await gw.application_records()
            records.append(time.perf_counter() - started)
        assert page.count("<tr data-key=") == min(n, 50), "the page shows one page of rows"
        return min(pages) * 1e3, min(records) * 1e3
    finally:
        gw.env.close()
        gw.repository.close()
