"""The example SOAP peer (examples/soap_peer) as a process of its own."""

from __future__ import annotations

import httpx

from tests.processes import free_port, stop
from tests.soap.conftest import start_peer


def test_peer_serves_its_wsdls(soap_peer: str) -> None:
    for path in ("/formatter", "/formatter12", "/customer"):
        r = httpx.get(f"{soap_peer}{path}?wsdl")
        assert r.status_code == 200 and b"definitions" in r.content, path
        assert f'location="{soap_peer}{path}"'.encode() in r.content
    assert httpx.get(f"{soap_peer}/nothing").status_code == 404


def test_peer_stops_cleanly_on_sigterm() -> None:
    proc = start_peer(free_port())
    assert stop(proc) == 0
    assert proc.stderr is not None and proc.stderr.read() == b""
