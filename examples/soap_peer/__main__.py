"""`python -m examples.soap_peer [--host H] [--port N]`: serve until SIGTERM or Ctrl-C.

Prints one line, `listening on http://HOST:PORT`, once it accepts connections (with
`--port 0` that is how a caller learns the port).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from examples.soap_peer import make


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.soap_peer", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    options = parser.parse_args(argv)
    server = make(options.host, options.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, which runs in this very thread:
        # ask from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
