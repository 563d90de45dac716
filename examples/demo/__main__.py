"""`python -m examples.demo`: the example SOAP peer and the gateway, ready for the README.

Starts `python -m examples.soap_peer` on 127.0.0.1:8090 and `integration-gateway serve`
with examples/demo/config.toml (public 8080, admin 8081), then imports the peer's WSDLs
so that the patent's five-stage chain resolves:

- the formatter's WSDL as a document known by the base URL `http://www.cloud.com/formatter`
  (so `wsdl:www.cloud.com/formatter#XMLCheck` finds it; calls go to the peer, the address
  its WSDL names), and
- the customer's WSDL with the prefix `customer.cz` (so `customer.cz.order` is a name).

Ctrl-C (or SIGTERM) stops both.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER = "http://127.0.0.1:8090"
ADMIN = "http://127.0.0.1:8081"
PUBLIC = "http://127.0.0.1:8080"
IMPORTS = [
    {
        "kind": "wsdl",
        "url": None,
        "source": f"{PEER}/formatter?wsdl",
        "base_url": "http://www.cloud.com/formatter",
    },
    {"kind": "wsdl", "url": f"{PEER}/customer?wsdl", "prefix": "customer.cz"},
]
CHAIN = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read()


def _admin(method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        ADMIN + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def _wait(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with status {proc.returncode}")
        try:
            _get(url)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start within 30 s ({url})")


def _import_wsdls() -> None:
    known = {(i.get("url"), i.get("base_url")): i["id"] for i in _admin("GET", "/imports")["items"]}
    for spec in IMPORTS:
        body = {k: v for k, v in spec.items() if k != "source" and v is not None}
        if "source" in spec:
            body["document"] = _get(spec["source"]).decode()
        existing = known.get((spec.get("url"), spec.get("base_url")))
        if existing:
            _admin("POST", f"/imports/{existing}/refresh")
        else:
            _admin("POST", "/imports", body)


def main() -> int:
    py = sys.executable
    exe = Path(py).with_name("integration-gateway")
    gateway_cmd = [str(exe)] if exe.exists() else [py, "-m", "gateway"]
    peer = subprocess.Popen(
        [py, "-m", "examples.soap_peer", "--port", "8090"], stdout=subprocess.DEVNULL
    )
    gateway = None
    try:
        _wait(PEER + "/formatter?wsdl", peer, "the SOAP peer")
        gateway = subprocess.Popen([*gateway_cmd, "serve", "--config", str(HERE / "config.toml")])
        _wait(PUBLIC + "/_gateway/health", gateway, "the gateway")
        _import_wsdls()
        print(
            f"""
Integration Gateway demo is up: public {PUBLIC}, admin {ADMIN}, SOAP peer {PEER}.
Try the patent's five-stage chain:

  curl -s {PUBLIC}/ -H 'Content-Type: application/json' \\
    -H 'Integration-Config: {CHAIN}' \\
    -d '{{"XMLCheck": {{"document": "hello"}}}}'

Ctrl-C stops the demo.""",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        gateway.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (gateway, peer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (gateway, peer):
            if proc is not None:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
