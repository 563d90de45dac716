"""`python -m examples.upstream [--host H] [--port N]`: serve the example REST API."""

from __future__ import annotations

import argparse

from aiohttp import web

from examples.upstream import application


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    options = parser.parse_args()
    web.run_app(application(), host=options.host, port=options.port, print=None)


if __name__ == "__main__":
    main()
