"""`python -m examples.soap_peer [--host H] [--port N]`: serve until SIGTERM or Ctrl-C.

Prints one line, `listening on http://HOST:PORT`, once it accepts connections (with
`--port 0` that is how a caller learns the port).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web

from examples.soap_peer import application


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.soap_peer", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    options = parser.parse_args(argv)
    asyncio.run(serve(options.host, options.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
