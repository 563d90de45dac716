"""Issue 14: HTTPS on both listeners (`tls_cert`, `tls_key`, `tls_client_ca`), served by
the real `integration-gateway serve` with certificates the test makes, called as clients
call it: httpx, curl, raw TLS sockets and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme

from tests.integration.test_listener import read_answer
from tests.processes import free_port, stop

EXE = str(Path(sys.executable).with_name("integration-gateway"))
TOKEN = "s3cret"
SLOW_HEAD_S = 1


@dataclass(frozen=True)
class Pki:
    """A CA for the listeners' certificates, one for their clients, and a stranger's."""

    folder: Path
    server_ca: trustme.CA
    client_ca: trustme.CA
    client: trustme.LeafCert
    stranger: trustme.LeafCert

    def trusting(self, client: trustme.LeafCert | None = None) -> ssl.SSLContext:
        """A client's context: trusts the listeners' CA, presents `client`'s certificate."""
        context = ssl.create_default_context()
        self.server_ca.configure_trust(context)
        if client is not None:
            client.configure_cert(context)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    server_ca, client_ca = trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1", "localhost")
    client = client_ca.issue_cert("operator@example.com")
    stranger = trustme.CA().issue_cert("stranger@example.com")
    server.cert_chain_pems[0].write_to_path(folder / "server.pem")
    server.private_key_pem.write_to_path(folder / "server.key")
    server_ca.cert_pem.write_to_path(folder / "ca.pem")
    client_ca.cert_pem.write_to_path(folder / "client-ca.pem")
    client.cert_chain_pems[0].write_to_path(folder / "client.pem")
    client.private_key_pem.write_to_path(folder / "client.key")
    stranger.private_key_and_cert_chain_pem.write_to_path(folder / "stranger.pem")
    other = trustme.CA().issue_cert("127.0.0.1")  # a key that is not server.pem's
    other.private_key_pem.write_to_path(folder / "other.key")
    return Pki(folder, server_ca, client_ca, client, stranger)


@dataclass(frozen=True)
class Served:
    base: str
    admin: str
    config: Path
    log: Path


def tls_keys(pki: Pki, client_ca: bool = False) -> str:
    keys = f'tls_cert = "{pki.folder}/server.pem"\ntls_key = "{pki.folder}/server.key"\n'
    return keys + (f'tls_client_ca = "{pki.folder}/client-ca.pem"\n' if client_ca else "")


@contextlib.contextmanager
def serving(
    work: Path, gateway: str, admin: str, ready: str, verify: ssl.SSLContext
) -> Iterator[Served]:
    """`integration-gateway serve` in `work` with these [gateway] and [admin] lines, once
    `ready` (a path on the public listener) answers 200 over TLS; SIGTERM stops it."""
    port, admin_port = free_port(), free_port()
    config = work / "config.toml"
    config.write_text(
        f"[gateway]\nport = {port}\nheader_timeout_s = {SLOW_HEAD_S}\n{gateway}\n"
        f"[admin]\nport = {admin_port}\ntoken = '{TOKEN}'\n{admin}\n[purge]\ninterval_s = 0\n"
    )
    log = work / "stderr.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [EXE, "serve", "--config", str(config)],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    base = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + ready, verify=verify, timeout=1).status_code == 200:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("gateway did not start: " + log.read_text()[-2000:])
        time.sleep(0.1)
    scheme = "https" if "tls_cert" in admin else "http"
    try:
        yield Served(base, f"{scheme}://127.0.0.1:{admin_port}", config, log)
    finally:
        assert stop(proc, 45) == 0


@pytest.fixture(scope="module")
def secured(pki: Pki, tmp_path_factory) -> Iterator[Served]:
    """TLS on both listeners; the admin's clients present a certificate of the client CA."""
    work = tmp_path_factory.mktemp("tls")
    with serving(
        work, tls_keys(pki), tls_keys(pki, client_ca=True), "/_gateway/health", pki.trusting()
    ) as served:
        yield served


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def integration(base: str, verify: ssl.SSLContext) -> httpx.Response:
    return httpx.post(
        base + "/",
        json={"a": 1},
        headers={"Integration-Config": "validator"},
        verify=verify,
        timeout=10,
    )


# -- the public listener ---------------------------------------------------------------------


def test_an_integration_request_over_https(secured, pki):
    r = integration(secured.base, pki.trusting())
    assert r.status_code == 200, r.text
    assert r.http_version == "HTTP/1.1" and r.json() == {"a": 1}


def test_curl_calls_both_listeners_over_https(secured, pki):
    ca = str(pki.folder / "ca.pem")
    public = subprocess.run(
        [
            *("curl", "-sS", "--cacert", ca, "-w", "\n%{http_code} %{http_version}"),
            *("-H", "Integration-Config: validator", "-H", "Content-Type: application/json"),
            *("--data", '{"a": 1}', secured.base + "/"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, status = public.stdout.rsplit("\n", 1)
    assert status == "200 1.1", public.stderr
    assert json.loads(body) == {"a": 1}
    admin = subprocess.run(
        [
            *("curl", "-sS", "--cacert", ca, "-w", "\n%{http_code}"),
            *("--cert", str(pki.folder / "client.pem"), "--key", str(pki.folder / "client.key")),
            *("-H", f"Authorization: Bearer {TOKEN}", secured.admin + "/services"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, status = admin.stdout.rsplit("\n", 1)
    assert status == "200", admin.stderr
    assert any(s["id"] == "validator@1.0.0" for s in json.loads(body)["items"])


def test_plain_http_to_a_tls_port_gets_no_answer(secured):
    plain = secured.base.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain + "/_gateway/health", timeout=5)


def test_a_client_that_does_not_trust_the_certificate_stops(secured):
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(secured.base + "/_gateway/health", timeout=5)


async def first_answer(url: str, context: ssl.SSLContext, head: bytes) -> tuple[int, dict, bytes]:
    """The listener's first answer to `head`, written on a TLS connection."""
    host, port = url.removeprefix("https://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
    writer.write(head)
    await writer.drain()
    try:
        return await read_answer(reader, SLOW_HEAD_S + 10)
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


async def test_a_huge_head_over_tls_is_431_problem_json(secured, pki):
    head = b"POST / HTTP/1.1\r\nHost: x\r\nIntegration-Config: " + b"logger | " * 9000
    status, headers, body = await first_answer(secured.base, pki.trusting(), head + b"x\r\n\r\n")
    assert status == 431 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["type"].endswith("/header-too-large")


async def test_a_slow_head_over_tls_is_408(secured, pki):
    status, _, body = await first_answer(secured.base, pki.trusting(), b"POST / HTTP/1.1\r\n")
    assert status == 408 and json.loads(body)["type"].endswith("/request-timeout")


def test_the_start_line_says_https(secured):
    port = secured.base.rsplit(":", 1)[1]
    admin = secured.admin.rsplit(":", 1)[1]
    line = f"integration gateway on https://127.0.0.1:{port} (admin https://127.0.0.1:{admin})"
    assert line in secured.log.read_text()


# -- the admin listener, with client certificates ------------------------------------------


def admin_get(secured: Served, context: ssl.SSLContext, headers=BEARER) -> httpx.Response:
    return httpx.get(secured.admin + "/applications", headers=headers, verify=context, timeout=5)


def test_the_admin_api_needs_a_client_certificate_and_the_token(secured, pki):
    assert admin_get(secured, pki.trusting(pki.client)).status_code == 200
    assert admin_get(secured, pki.trusting(pki.client), {}).status_code == 401
    for refused in (None, pki.stranger):
        with pytest.raises(httpx.HTTPError):
            admin_get(secured, pki.trusting(refused))


def test_the_admin_listeners_https_origin_is_its_own(secured, pki):
    def purge(origin: str) -> httpx.Response:
        return httpx.post(
            secured.admin + "/purge",
            headers={**BEARER, "Origin": origin},
            verify=pki.trusting(pki.client),
            timeout=5,
        )

    assert purge(secured.admin).status_code == 200
    plain = purge(secured.admin.replace("https://", "http://"))
    assert plain.status_code == 403 and plain.json()["type"].endswith("/cross-site")


# -- the CLI ---------------------------------------------------------------------------------


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_the_cli_calls_a_tls_admin_listener_its_config_names(secured, pki):
    f = pki.folder
    trusted = ("--cacert", f / "ca.pem", "--cert", f / "client.pem", "--key", f / "client.key")
    r = cli("apps", "--config", secured.config, *trusted)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:2] == ["KEY", "APP_SERVER"]
    r = cli(*trusted, "--admin", secured.admin, "--config", secured.config, "services", "--json")
    assert r.returncode == 0, r.stderr
    assert any(s["id"] == "validator@1.0.0" for s in json.loads(r.stdout)["items"])


def test_the_cli_without_a_certificate_the_listener_takes_exits_4(secured, pki):
    ca = pki.folder / "ca.pem"
    for certificate in ((), ("--cert", pki.folder / "stranger.pem")):
        r = cli("apps", "--config", secured.config, "--cacert", ca, *certificate)
        assert r.returncode == 4, r.stderr
        assert "refused the TLS connection" in r.stderr and "client certificate" in r.stderr


def test_the_cli_that_does_not_trust_the_listener_exits_3_saying_cacert(secured):
    r = cli("apps", "--config", secured.config)
    assert r.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in r.stderr and "--cacert" in r.stderr


def test_the_cli_names_a_tls_file_it_cannot_use(secured, pki):
    r = cli("apps", "--config", secured.config, "--cacert", pki.folder / "missing.pem")
    assert r.returncode == 2 and "--cacert" in r.stderr and "cannot be read" in r.stderr
    r = cli("apps", "--config", secured.config, "--key", pki.folder / "client.key")
    assert r.returncode == 2 and "--key goes with --cert" in r.stderr


# -- starting ------------------------------------------------------------------------------


def test_a_key_that_is_not_the_certificates_stops_the_start(pki, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[gateway]\ntls_cert = "{pki.folder}/server.pem"\ntls_key = "{pki.folder}/other.key"\n'
    )
    r = subprocess.run(
        [EXE, "serve", "--config", str(tmp_path / "config.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "gateway.tls_key" in r.stderr and "not the private key" in r.stderr


def test_every_worker_serves_https_and_asks_for_client_certificates(pki, tmp_path):
    client = pki.trusting(pki.client)
    with serving(
        tmp_path,
        tls_keys(pki, client_ca=True) + "workers = 2\n",
        "",
        "/_gateway/health",
        client,
    ) as served:
        workers = set()
        for _ in range(200):
            health = httpx.get(served.base + "/_gateway/health", verify=client, timeout=5)
            workers.add(health.json()["worker"])
            if workers == {0, 1}:
                break
        assert workers == {0, 1}
        assert integration(served.base, client).status_code == 200
        with pytest.raises(httpx.HTTPError):
            integration(served.base, pki.trusting())  # no client certificate
        assert served.admin.startswith("http://")  # the admin listener without TLS
        assert httpx.get(served.admin + "/applications", headers=BEARER).status_code == 200


async def test_a_431_over_tls_is_the_connections_only_answer(secured, pki):
    """TLS cannot half-close: what the listener still wrote after its answer (a 408 when
    the head's deadline passed during the linger) would reach the client."""
    host, port = secured.base.removeprefix("https://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), ssl=pki.trusting())
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nIntegration-Config: " + b"logger | " * 9000)
    writer.write(b"x\r\n\r\n")
    await writer.drain()
    received = b""
    with contextlib.suppress(ssl.SSLError, ConnectionError, TimeoutError):
        async with asyncio.timeout(SLOW_HEAD_S + 5):
            while chunk := await reader.read(65536):
                received += chunk
    writer.close()
    assert received.startswith(b"HTTP/1.1 431 ") and received.count(b"HTTP/1.1 ") == 1, received
