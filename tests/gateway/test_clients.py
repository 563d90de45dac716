"""Credentials and grants in memory (gateway/clients.py): verified once with argon2, then
known by a keyed hash of the header; forgotten the moment a client changes or goes."""

from __future__ import annotations

import base64

import argon2
import pytest

from gateway.clients import Clients
from igwcore.problems import InvalidCredentials, NotFound
from repository.clients import ClientStore
from repository.store import Repository

FAST = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only


def basic(id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{id}:{secret}".encode()).decode()


@pytest.fixture
def clients(tmp_path):
    repo = Repository(tmp_path / "r.sqlite")
    yield Clients(ClientStore(repo.transaction, repo.rows), hasher=FAST)
    repo.close()


async def test_verified_credentials_are_known_without_hashing(clients):
    client, secret = await clients.create({"name": "a", "allow": ["*"]})
    header = basic(client.id, secret)
    assert clients.known(header) is None
    assert await clients.authenticate(header) is client
    assert clients.known(header) is client
    assert clients.known(basic(client.id, secret + "x")) is None


async def test_the_cache_holds_no_secret(clients):
    client, secret = await clients.create({"name": "a", "allow": ["*"]})
    await clients.authenticate(basic(client.id, secret))
    (digest,) = clients._verified
    assert secret.encode() not in digest and len(digest) == 32


async def test_deleting_rotating_and_changing_forget_at_once(clients):
    client, secret = await clients.create({"name": "a", "allow": ["*"]})
    header = basic(client.id, secret)
    await clients.authenticate(header)
    changed = clients.replace(client.id, {"name": "b", "allow": ["validator"]})
    assert clients.known(header) is None
    assert (await clients.authenticate(header)).allow == changed.allow
    _, new = await clients.rotate(client.id)
    assert clients.known(header) is None
    with pytest.raises(InvalidCredentials):
        await clients.authenticate(header)
    await clients.authenticate(basic(client.id, new))
    clients.delete(client.id)
    assert clients.known(basic(client.id, new)) is None
    with pytest.raises(InvalidCredentials):
        await clients.authenticate(basic(client.id, new))
    with pytest.raises(NotFound):
        clients.get(client.id)


async def test_a_wrong_secret_is_not_hashed_twice(clients, monkeypatch):
    client, _ = await clients.create({"name": "a", "allow": ["*"]})
    calls = []
    real = clients._verify
    monkeypatch.setattr(clients, "_verify", lambda h, s: calls.append(s) or real(h, s))
    for _ in range(3):
        with pytest.raises(InvalidCredentials) as e:
            await clients.authenticate(basic(client.id, "guess"))
        assert e.value.headers["WWW-Authenticate"].startswith("Basic ")
    assert calls == ["guess"]
    with pytest.raises(InvalidCredentials):
        await clients.authenticate(basic("unknown", "guess"))
    assert calls == ["guess"]  # an unknown id is refused without hashing


async def test_a_client_deleted_while_verified_is_refused(clients, monkeypatch):
    client, secret = await clients.create({"name": "a", "allow": ["*"]})
    real = clients._verify

    def verify_then_delete(hashed, given):
        ok = real(hashed, given)
        clients._by_id.pop(client.id)  # the DELETE, landing during the hash
        return ok

    monkeypatch.setattr(clients, "_verify", verify_then_delete)
    with pytest.raises(InvalidCredentials):
        await clients.authenticate(basic(client.id, secret))
    assert clients.known(basic(client.id, secret)) is None


async def test_clients_are_read_back_from_the_file(tmp_path):
    repo = Repository(tmp_path / "r.sqlite")
    first = Clients(ClientStore(repo.transaction, repo.rows), hasher=FAST)
    client, secret = await first.create({"name": "a", "allow": ["x.*"]})
    again = Clients(ClientStore(repo.transaction, repo.rows), hasher=FAST)
    assert (await again.authenticate(basic(client.id, secret))).allow == ("x.*",)
    repo.close()
