"""TLS contexts: a listener's (`tls_cert`, `tls_key`, `tls_client_ca` of `[gateway]` or
`[admin]`, issue 14) and the CLI's towards the admin API.

Both are the ssl module's secure defaults (its cipher list, no compression, no SSL 3)
with TLS 1.2 at least and HTTP/1.1 offered by ALPN: aiohttp serves nothing else. A file
that cannot serve raises `TLSFileError` naming the key that named it, so that the start
stops on it rather than on the first handshake; a key protected by a passphrase is
refused, never prompted for on a terminal the gateway may not have.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

__all__ = ["TLSFileError", "client_context", "server_context"]

ALPN = ["http/1.1"]
MINIMUM = ssl.TLSVersion.TLSv1_2


class TLSFileError(ValueError):
    """A certificate, key or CA file that cannot serve; `key` is its config key
    (`tls_cert`, `tls_key`, `tls_client_ca`) or CLI option (`--cacert`, ...)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """A listener's context; with `client_ca`, a client must present a certificate that
    CA signed (CERT_REQUIRED), or its handshake fails."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM
    context.set_alpn_protocols(ALPN)
    _load_chain(context, cert, key, ("tls_cert", "tls_key"))
    if client_ca is not None:
        _load_trusted(context, client_ca, "tls_client_ca")
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(
    cacert: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """The CLI's context: the server's certificate checked against `cacert` (else the
    system's CAs), its name against the URL's host; `cert` (with `key`, unless the
    certificate's file holds it) presented to a listener that asks for one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, names checked
    context.minimum_version = MINIMUM
    context.set_alpn_protocols(ALPN)
    if cacert is not None:
        _load_trusted(context, cacert, "--cacert")  # only its CAs, as curl's --cacert
    else:
        context.load_default_certs()
    if cert is not None:
        _load_chain(context, cert, key or cert, ("--cert", "--key" if key else "--cert"))
    return context


def _load_chain(context: ssl.SSLContext, cert: Path, key: Path, names: tuple[str, str]) -> None:
    cert_name, key_name = names
    _readable(cert, cert_name)
    _readable(key, key_name)
    try:
        context.load_cert_chain(cert, key, password=_no_passphrase(key, key_name))
    except ssl.SSLError as e:
        if e.reason == "KEY_VALUES_MISMATCH":
            raise TLSFileError(
                key_name, f"{key} is not the private key of {cert_name}'s certificate ({cert})"
            ) from None
        if not _holds_certificate(cert):
            raise TLSFileError(cert_name, f"{cert} holds no PEM certificate") from None
        raise TLSFileError(key_name, f"{key} holds no PEM private key") from None


def _load_trusted(context: ssl.SSLContext, bundle: Path, name: str) -> None:
    _readable(bundle, name)
    try:
        context.load_verify_locations(cafile=bundle)
    except ssl.SSLError as e:
        raise TLSFileError(name, f"{bundle} holds no PEM CA certificate ({e.reason})") from None


def _readable(path: Path, name: str) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        raise TLSFileError(name, f"{path} cannot be read: {e.strerror}") from None


def _holds_certificate(path: Path) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:
        return False
    return True


def _no_passphrase(key: Path, name: str) -> Callable[[], str]:
    def refuse() -> str:
        raise TLSFileError(
            name, f"{key} is encrypted: give the key unencrypted, readable by its user only"
        )

    return refuse
