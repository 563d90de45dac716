"""Peers for the soap tests: the example SOAP peer in its own process, and a small HTTP
server on loopback that serves WSDLs (the shared corpus and made-up ones), redirects,
answers slowly or with too much, and echoes what a soap stage posts."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from tests.processes import free_port, start, stop

ROOT = Path(__file__).parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def start_peer(port: int) -> subprocess.Popen[bytes]:
    """`python -m examples.soap_peer --port PORT`, once it answers for its WSDL."""
    return start(
        [sys.executable, "-m", "examples.soap_peer", "--port", str(port)],
        f"http://127.0.0.1:{port}/formatter?wsdl",
        what="the SOAP peer",
        cwd=ROOT,
    )


@pytest.fixture(scope="session")
def soap_peer() -> Iterator[str]:
    """The example SOAP peer's base URL (its own process)."""
    port = free_port()
    proc = start_peer(port)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@dataclass
class Files:
    """The loopback file server: `url(name)`; `requests` logs every path asked for."""

    base: str
    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def add(self, name: str, content: str | bytes) -> str:
        self.files[name] = content.encode() if isinstance(content, str) else content
        return self.url(f"files/{name}")

    def asked(self, name: str) -> int:
        """How many requests were for a path ending in `name` (queries not counted)."""
        return sum(path.split("?", 1)[0].endswith(name) for path in self.requests)


def _handler(files: Files) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "text/xml", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            files.requests.append(self.path)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path
            if path.startswith("/corpus/"):
                file = CORPUS / path.removeprefix("/corpus/")
                if file.is_file():
                    return self._send(200, file.read_bytes())
            elif path.startswith("/files/") and path.removeprefix("/files/") in files.files:
                return self._send(200, files.files[path.removeprefix("/files/")])
            elif path == "/redirect":
                return self._send(302, b"", Location=query["to"][0])
            elif path == "/slow":
                time.sleep(float(query.get("s", ["1"])[0]))
                return self._send(200, (CORPUS / "soap.wsdl").read_bytes())
            elif path == "/chunked":
                # No Content-Length: the size is only known by reading.
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                data = (CORPUS / "soap.wsdl").read_bytes()
                for i in range(0, len(data), 512):
                    chunk = data[i : i + 512]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
                return None
            return self._send(404, b"no such file", "text/plain")

        def do_POST(self) -> None:
            files.requests.append(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            if path == "/reject":
                return self._send(400, b"bad request, says the peer", "text/plain")
            if path == "/fail":
                return self._send(503, b"the peer is down", "text/plain")
            if path == "/echo":
                return self._send(200, echo_envelope(body, dict(self.headers.items())))
            return self._send(404, b"no", "text/plain")

    return Handler


def echo_envelope(received: bytes, headers: dict[str, str]) -> bytes:
    """A SOAP 1.1 answer whose body holds what was posted: the headers and the envelope."""
    env = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"s": SOAP11_ENV})
    echo = etree.SubElement(etree.SubElement(env, f"{{{SOAP11_ENV}}}Body"), "Echo")
    http = etree.SubElement(echo, "headers")
    for name, value in headers.items():
        etree.SubElement(http, "header", name=name.lower()).text = value
    etree.SubElement(echo, "raw").text = base64.b64encode(received).decode()
    return etree.tostring(env)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a fetch timeout under test) is not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def files() -> Iterator[Files]:
    """A loopback HTTP server for WSDLs (the corpus under /corpus/, others under /files/)."""
    server = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    served = Files(base=f"http://127.0.0.1:{port}", port=port)
    server.RequestHandlerClass = _handler(served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


def echoed(output: bytes) -> tuple[dict[str, str], etree._Element]:
    """What the echo endpoint received: (HTTP headers, the posted envelope)."""
    root = etree.fromstring(output)
    headers = {h.get("name"): h.text or "" for h in root.find("headers")}
    return headers, etree.fromstring(base64.b64decode(root.findtext("raw")))


ALLOW = {"fetch_wsdl_hosts": ["127.0.0.1"]}  # [assembler] for gateways that fetch WSDLs here


@pytest.fixture(scope="module")
def responder() -> Iterator[str]:
    """The hand-written SOAP responder (tests/soap/handmade.py)."""
    from tests.soap import handmade

    yield from handmade.serve()


@pytest.fixture
async def allowed_gw(start_gateway):  # type: ignore[no-untyped-def]
    """A gateway that may fetch WSDLs from 127.0.0.1."""
    return await start_gateway(assembler=ALLOW)


def texts(r, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts of the elements called `name` (any namespace) in a 200 XML answer."""
    assert r.status == 200, r.body[:800]
    assert r.headers["Content-Type"].startswith("application/xml")
    return [
        e.text or "" for e in etree.fromstring(r.body).iter() if etree.QName(e).localname == name
    ]
