"""python -m bench: every benchmark of the gateway, printed as one table.

    python -m bench [--smoke] [--only GROUP,...] [--seconds S] [--rounds N] [--markdown]

Each figure stands beside its baseline, measured in the same run: a hand-written
aiohttp app doing the same work (the hit path), the upstream called directly
(pass-through), an open gateway (clients and audit), the plain data structure or the
smallest repository (in-process rows), zeep's own client (the SOAP stage), one worker
and the hand-written app's own scaling (workers). Where the
issue set a target, the last column says whether it is met. `--smoke` runs every row
briefly and small, to show that each still prints a number (CI runs it); its figures
mean nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from collections.abc import Callable

from bench import machine
from bench.table import Row, render

GROUPS = ("hit", "clients", "inproc", "soap", "scale", "console")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[2].replace("\n", " ")
    )
    parser.add_argument("--smoke", action="store_true", help="every row, briefly and small")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"groups: {', '.join(GROUPS)}")
    parser.add_argument("--seconds", type=float, default=8, help="wrk run length (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    options = parser.parse_args(argv)
    if options.smoke:
        options.seconds, options.rounds = 1, 1
    groups = [g.strip() for g in options.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; the groups are {', '.join(GROUPS)}")
    started = time.monotonic()
    machine.factor()  # timed first, while nothing else runs
    rows: list[Row] = []
    runners: dict[str, Callable[[], list[Row]]] = {
        "hit": lambda: _http(options),
        "clients": lambda: _clients(options),
        "inproc": lambda: _inproc(options),
        "soap": lambda: _soap(options),
        "scale": lambda: _scale(options),
        "console": lambda: _console(options),
    }
    for group in groups:
        rows += runners[group]()
    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.machine()} x{_cores()}, "
        f"Python {platform.python_version()}, {time.monotonic() - started:.0f} s; this machine "
        f"x{machine.factor():.1f} the issue's (full header reader {machine.reader_us():.1f} µs "
        f"against {machine.REFERENCE_US:g})"
        + (" (smoke: figures mean nothing)" if options.smoke else "")
    )
    print(render(rows, markdown=options.markdown))
    empty = [r.label for r in rows if not isinstance(r.value, int | float) or math.isnan(r.value)]
    if empty:
        print(f"rows without a number: {', '.join(empty)}", file=sys.stderr)
        return 1
    return 0


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _http(options: argparse.Namespace) -> list[Row]:
    from bench.http_rows import http_rows

    return http_rows(seconds=options.seconds, rounds=options.rounds, smoke=options.smoke)


def _clients(options: argparse.Namespace) -> list[Row]:
    from bench.clients_rows import clients_rows

    return clients_rows(seconds=options.seconds, rounds=options.rounds, smoke=options.smoke)


def _inproc(options: argparse.Namespace) -> list[Row]:
    from bench.inproc import inproc_rows

    return inproc_rows(smoke=options.smoke)


def _soap(options: argparse.Namespace) -> list[Row]:
    from bench.soap_stage import soap_rows

    return soap_rows(smoke=options.smoke)


def _scale(options: argparse.Namespace) -> list[Row]:
    from bench.scale_rows import scale_rows

    return scale_rows(seconds=options.seconds, rounds=options.rounds, smoke=options.smoke)


def _console(options: argparse.Namespace) -> list[Row]:
    from bench.console_rows import console_rows

    return console_rows(smoke=options.smoke)


if __name__ == "__main__":
    sys.exit(main())
