"""SPEC §8, issue 14: a listener's TLS keys; a file that cannot serve stops the start,
naming the key that named it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from gateway import config as configuration
from gateway.config import ConfigError


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A certificate for 127.0.0.1 and its key, another's key, a CA, and junk."""
    folder = tmp_path_factory.mktemp("tls")
    ca, other = trustme.CA(), trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(folder / "cert.pem")
    cert.private_key_pem.write_to_path(folder / "key.pem")
    other.issue_cert("127.0.0.1").private_key_pem.write_to_path(folder / "other.key")
    ca.cert_pem.write_to_path(folder / "ca.pem")
    (folder / "junk.pem").write_text("not a PEM file\n")
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)
    (folder / "encrypted.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    return folder


def tls(files: Path, listener: str = "gateway", **keys: str) -> configuration.Config:
    return configuration.from_dict({listener: keys}, base_dir=files)


@pytest.mark.parametrize("listener", ["gateway", "admin"])
def test_a_certificate_and_its_key_give_the_listener_tls(files, listener):
    config = tls(files, listener, tls_cert="cert.pem", tls_key="key.pem")
    context = config.tls_context(listener)
    assert isinstance(context, ssl.SSLContext)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE  # no client certificate asked for
    other = "admin" if listener == "gateway" else "gateway"
    assert config.tls_context(other) is None


def test_a_client_ca_requires_client_certificates(files):
    config = tls(files, tls_cert="cert.pem", tls_key="key.pem", tls_client_ca="ca.pem")
    assert config.tls_context("gateway").verify_mode == ssl.CERT_REQUIRED


def test_paths_are_relative_to_the_config_files_folder(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the config's folder
    (files / "config.toml").write_text('[admin]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n')
    assert configuration.load(files / "config.toml").tls_context("admin") is not None


@pytest.mark.parametrize(
    "keys,named",
    [
        ({"tls_cert": "cert.pem"}, "gateway.tls_key"),
        ({"tls_key": "key.pem"}, "gateway.tls_cert"),
        ({"tls_client_ca": "ca.pem"}, "gateway.tls_client_ca"),
        ({"tls_cert": "missing.pem", "tls_key": "key.pem"}, "gateway.tls_cert"),
        ({"tls_cert": "cert.pem", "tls_key": "missing.key"}, "gateway.tls_key"),
        ({"tls_cert": "junk.pem", "tls_key": "key.pem"}, "gateway.tls_cert"),
        ({"tls_cert": "cert.pem", "tls_key": "junk.pem"}, "gateway.tls_key"),
        ({"tls_cert": "cert.pem", "tls_key": "other.key"}, "gateway.tls_key"),
        ({"tls_cert": "cert.pem", "tls_key": "encrypted.key"}, "gateway.tls_key"),
        (
            {"tls_cert": "cert.pem", "tls_key": "key.pem", "tls_client_ca": "junk.pem"},
            "tls_client_ca",
        ),
        ({"tls_cert": "cert.pem", "tls_key": "key.pem", "tls_client_ca": "nope"}, "tls_client_ca"),
        ({"tls_cert": 1}, "gateway.tls_cert"),
    ],
)
def test_a_file_that_cannot_serve_stops_the_start_naming_its_key(files, keys, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        tls(files, **keys)


def test_a_key_that_is_not_the_certificates_says_so(files):
    with pytest.raises(ConfigError, match="not the private key of tls_cert's certificate"):
        tls(files, "admin", tls_cert="cert.pem", tls_key="other.key")
