"""`python -m examples.demo`: the example SOAP peer, the example upstream and the gateway,
ready for the README.

Checks its four ports first (public 8080, admin 8081, the SOAP peer 8090, the upstream
9000) and starts nothing if one is taken, so that it never reports up a demo that
another one answers for. Then starts `python -m examples.soap_peer`, `python -m
examples.upstream` and `integration-gateway serve` with examples/demo/config.toml (its
ports filled in; the service files and python module of examples/services allowed), and
imports the peer's WSDLs so that the patent's five-stage chain resolves:

- the formatter's WSDL as a document known by the base URL `http://www.cloud.com/formatter`
  (so `wsdl:www.cloud.com/formatter#XMLCheck` finds it; calls go to the peer, the address
  its WSDL names), and
- the customer's WSDL with the prefix `customer.cz` (so `customer.cz.order` is a name).

While it runs it watches the three: one that exits is named, with the end of its log,
and the demo stops the others and exits 1. Ctrl-C (or SIGTERM) stops all, status 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from string import Template
from types import FrameType
from typing import Any

from examples.demo.children import Child, ChildDied, taken

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STATE = HERE / "var"
CHAIN = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)
EPILOG = f"""state: the repository (repository.sqlite), the logger service's files (log/), each
process's log (gateway.log, soap_peer.log, upstream.log) and the gateway's config.toml
live in the state folder, {STATE.relative_to(ROOT)}/ unless --state says otherwise; it
is kept from one run to the next. --reset deletes that folder and all in it first.

exit status: 0 stopped by Ctrl-C or SIGTERM, 1 a process it started died (named, with
the end of its log), 2 bad usage or a port taken (nothing started)."""


@dataclass(frozen=True)
class Ports:
    public: int = 8080
    admin: int = 8081
    peer: int = 8090
    upstream: int = 9000

    def named(self) -> dict[str, int]:
        """Each port with what it is for and the option that moves it."""
        return {
            "the gateway's public port (--public-port)": self.public,
            "the gateway's admin port (--admin-port)": self.admin,
            "the SOAP peer's port (--peer-port)": self.peer,
            "the example upstream's port (--upstream-port)": self.upstream,
        }


class Stopped(Exception):
    """SIGTERM, as Ctrl-C is KeyboardInterrupt."""


class ImportFailed(Exception):
    """The gateway runs but refused the peer's WSDLs."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped


def _options(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m examples.demo",
        description="The gateway with the example SOAP peer and the example upstream, "
        "the peer's WSDLs imported.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--reset", action="store_true", help="start from an empty state folder")
    p.add_argument("--state", type=Path, default=STATE, metavar="DIR", help="the state folder")
    defaults = Ports()
    for name in ("public", "admin", "peer", "upstream"):
        default = getattr(defaults, name)
        p.add_argument(f"--{name}-port", type=int, default=default, metavar="N", help=f"{default}")
    return p.parse_args(argv)


def refusal(ports: Ports) -> str | None:
    """Why the demo cannot start on `ports`, or None: a port given twice, or taken."""
    named = ports.named()
    if len(set(named.values())) < len(named):
        return f"examples.demo: each port must differ: {sorted(named.values())}"
    for what, port in named.items():
        if taken(port):
            return (
                f"examples.demo: port {port}, {what}, is taken (another demo running?); "
                "stop what listens there or choose another port"
            )
    return None


def _config(ports: Ports, state: Path) -> Path:
    text = Template((HERE / "config.toml").read_text()).substitute(
        public_port=ports.public,
        admin_port=ports.admin,
        peer_port=ports.peer,
        services_dir=json.dumps(str(HERE.parent / "services")),
    )
    path = state / "config.toml"
    path.write_text(text)
    return path


def children(ports: Ports, state: Path) -> tuple[Child, Child, Child]:
    """The SOAP peer, the upstream and the gateway, not started yet."""
    py = sys.executable
    exe = Path(py).with_name("integration-gateway")
    gateway = [str(exe)] if exe.exists() else [py, "-m", "gateway"]
    return (
        Child(
            "the SOAP peer",
            [py, "-m", "examples.soap_peer", "--port", str(ports.peer)],
            state / "soap_peer.log",
        ),
        Child(
            "the example upstream",
            [py, "-m", "examples.upstream", "--port", str(ports.upstream)],
            state / "upstream.log",
        ),
        Child(
            "the gateway",
            [*gateway, "serve", "--config", str(_config(ports, state))],
            state / "gateway.log",
        ),
    )


def _admin(base: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def import_wsdls(admin: str, peer: str) -> None:
    """The two imports of the module's docstring, refreshed where an earlier run made them."""
    with urllib.request.urlopen(f"{peer}/formatter?wsdl", timeout=5) as r:
        formatter = r.read().decode()
    imports = [
        {"kind": "wsdl", "document": formatter, "base_url": "http://www.cloud.com/formatter"},
        {"kind": "wsdl", "url": f"{peer}/customer?wsdl", "prefix": "customer.cz"},
    ]
    known = {
        (i.get("url"), i.get("base_url")): i["id"]
        for i in _admin(admin, "GET", "/imports")["items"]
    }
    for body in imports:
        existing = known.get((body.get("url"), body.get("base_url")))
        if existing:
            _admin(admin, "POST", f"/imports/{existing}/refresh")
        else:
            _admin(admin, "POST", "/imports", body)


def banner(ports: Ports, started: tuple[Child, ...], state: Path) -> str:
    public = f"http://127.0.0.1:{ports.public}"
    running = "\n".join(f"  {c.name}: pid {c.pid}, log {c.log}" for c in started)
    return f"""
Integration Gateway demo is up: public {public}, admin http://127.0.0.1:{ports.admin},
SOAP peer http://127.0.0.1:{ports.peer}, example upstream http://127.0.0.1:{ports.upstream}.
{running}
State: {state} (python -m examples.demo --reset starts afresh).
Try the patent's five-stage chain:

  curl -s {public}/ -H 'Content-Type: application/json' \\
    -H 'Integration-Config: {CHAIN}' \\
    -d '{{"XMLCheck": {{"document": "hello"}}}}'

Ctrl-C stops the demo."""


def run(ports: Ports, state: Path) -> None:
    """Start, import, watch; returns on Ctrl-C or SIGTERM, raises ChildDied."""
    peer, upstream, gateway = started = children(ports, state)
    try:
        peer.start(ROOT)
        upstream.start(ROOT)
        peer.wait_until_answers(f"http://127.0.0.1:{ports.peer}/formatter?wsdl")
        upstream.wait_until_answers(f"http://127.0.0.1:{ports.upstream}/openapi.yaml")
        gateway.start(ROOT)
        gateway.wait_until_answers(f"http://127.0.0.1:{ports.public}/_gateway/health")
        try:
            import_wsdls(f"http://127.0.0.1:{ports.admin}", f"http://127.0.0.1:{ports.peer}")
        except urllib.error.URLError as e:
            for child in started:  # a child that died says more than the refusal
                child.check()
            raise ImportFailed(f"importing the SOAP peer's WSDLs failed: {e}") from None
        print(banner(ports, started, state), flush=True)
        while True:
            for child in started:
                child.check()
            time.sleep(0.5)
    except (KeyboardInterrupt, Stopped):
        pass
    finally:
        # A second Ctrl-C must not leave the others running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(started):
            child.stop()


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    ports = Ports(options.public_port, options.admin_port, options.peer_port, options.upstream_port)
    why = refusal(ports)
    if why:
        print(why, file=sys.stderr)
        return 2
    state = options.state.resolve()
    # Only now: a taken port may be another demo's, using this very state.
    if options.reset:
        shutil.rmtree(state, ignore_errors=True)
    (state / "log").mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        run(ports, state)
    except ChildDied as died:
        print(died.report(), file=sys.stderr)
        return 1
    except ImportFailed as e:
        print(f"examples.demo: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
