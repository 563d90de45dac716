"""The clients of a gateway that requires them (SPEC §9): their credentials checked, and
their grants against what each stage resolved to.

A secret is stored only as its argon2 hash (argon2-cffi, RFC 9106's low-memory profile),
and verifying one takes tens of milliseconds on purpose. So verified credentials are
remembered: by a keyed hash (BLAKE2b) of the whole `Authorization` value, under a key
made afresh each process, which tells nothing of the secret and is worth nothing without
it, mapped to the client. A change to a client (its grant, its secret, its deletion) forgets its
entries before the change is answered. Hashing runs in threads, at most `VERIFIERS` at a
time: a stranger who knows no client id never makes the gateway hash at all, and one
wrong secret tried again is refused from memory for `FAILED_S`.

A grant's answer for an application (the stage ids it refuses) is remembered per client
and application: a hit costs a keyed hash and two dict lookups more than an open one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import argon2
from cachetools import TTLCache

from appserver.application import Application
from igwcore.problems import InvalidCredentials, NotAllowed, NotFound
from repository.clients import Client, ClientStore, client_fields, replaced
from repository.entry import ServiceEntry

__all__ = ["Clients", "not_allowed"]

VERIFIERS = 2  # argon2 verifications at once (each holds 64 MiB for ~50 ms)
FAILED_S = 60.0  # a wrong secret, refused from memory this long
FAILED_KEPT = 10_000
GRANTS_KEPT = 10_000  # applications' answers remembered for one client
REALM = 'Basic realm="integration-gateway"'
HOW = "send Authorization: Basic base64(id:secret) of a client made through the admin API"


def not_allowed(client: Client, refused: Iterable[str]) -> NotAllowed:
    services = list(refused)
    return NotAllowed(
        f"client {client.id} may not use {', '.join(services)} (its allow patterns: "
        f"{', '.join(client.allow) or 'none'})",
        services=services,
    )


def invalid_credentials(detail: str) -> InvalidCredentials:
    problem = InvalidCredentials(detail)
    problem.headers["WWW-Authenticate"] = REALM
    return problem


def credentials(authorization: str | None) -> tuple[str, str]:
    """The id and secret of a Basic `Authorization` value; 401 saying what is wrong."""
    if not authorization:
        raise invalid_credentials(f"this gateway requires client credentials: {HOW}")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_credentials(f"the Authorization scheme is not Basic: {HOW}")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_credentials(f"the Basic credentials are not base64 of UTF-8: {HOW}") from None
    id, colon, secret = decoded.partition(":")
    if not colon or not id or not secret:
        raise invalid_credentials(f"the Basic credentials are not id:secret: {HOW}")
    return id, secret


class Clients:
    """The clients, in memory as stored; every change goes through here."""

    def __init__(self, store: ClientStore, hasher: argon2.PasswordHasher | None = None) -> None:
        self._store = store
        self._hasher = hasher or argon2.PasswordHasher()
        self._by_id: dict[str, Client] = {c.id: c for c in store.all()}
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, Client] = {}
        self._digests: dict[str, set[bytes]] = {}  # client id -> its entries in _verified
        self._failed: TTLCache[bytes, bool] = TTLCache(maxsize=FAILED_KEPT, ttl=FAILED_S)
        self._grants: dict[str, dict[str, tuple[Application, tuple[str, ...]]]] = {}
        self._slots: asyncio.Semaphore | None = None

    def __iter__(self) -> Any:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, id: str) -> Client:
        client = self._by_id.get(id)
        if client is None:
            raise NotFound(f"no client with id {id!r}")
        return client

    # --- the first check: credentials -----------------------------------------------------

    def known(self, authorization: str | None) -> Client | None:
        """The client whose credentials these are, if verified before (no hashing)."""
        if authorization is None:
            return None
        return self._verified.get(self._digest(authorization))

    async def authenticate(self, authorization: str | None) -> Client:
        """The client these credentials are of; 401 `/invalid-credentials` otherwise."""
        digest = self._digest(authorization) if authorization else b""
        client = self._verified.get(digest)
        if client is not None:
            return client
        id, secret = credentials(authorization)
        client = self._by_id.get(id)
        refused = invalid_credentials(f"these credentials are not those of a client: {HOW}")
        if client is None or digest in self._failed:
            raise refused
        if self._slots is None:
            self._slots = asyncio.Semaphore(VERIFIERS)
        async with self._slots:
            good = await asyncio.to_thread(self._verify, client.secret_hash, secret)
        if not good:
            self._failed[digest] = True
            raise refused
        if self._by_id.get(id) is not client:  # deleted or changed while it was verified
            raise refused
        self._verified[digest] = client
        self._digests.setdefault(id, set()).add(digest)
        return client

    def _verify(self, hashed: str, secret: str) -> bool:
        try:
            return self._hasher.verify(hashed, secret)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False

    def _digest(self, authorization: str) -> bytes:
        # Keyed BLAKE2b is a MAC in itself (RFC 7693), a third of HMAC-SHA256's time.
        raw = authorization.encode("utf-8", "surrogateescape")
        return hashlib.blake2b(raw, key=self._key, digest_size=32).digest()

    # --- the second check: the grant ------------------------------------------------------

    def refused(self, client: Client, application: Application) -> tuple[str, ...]:
        """The ids of the application's stages the client may not use (none: allowed)."""
        grants = self._grants.get(client.id)
        if grants is None:
            grants = self._grants[client.id] = {}
        known = grants.get(application.key)
        if known is not None and known[0] is application:
            return known[1]
        answer = client.grant.refused(s.service for s in application.plan.stages)
        if len(grants) >= GRANTS_KEPT:
            grants.clear()
        grants[application.key] = (application, answer)
        return answer

    def admit(self, client: Client, application: Application) -> None:
        """403 `/not-allowed` unless every stage of the application is within the grant."""
        refused = self.refused(client, application)
        if refused:
            raise not_allowed(client, refused)

    def usable(self, client: Client, entries: Iterable[ServiceEntry]) -> list[str]:
        """The ids of `entries` the client may use, sorted."""
        grant = client.grant
        return sorted(e.id for e in entries if grant.allows(e))

    # --- changes --------------------------------------------------------------------------

    async def create(self, data: Any) -> tuple[Client, str]:
        """A new client from a POST body, and its secret (shown this once)."""
        fields = client_fields(data)
        secret = secrets.token_urlsafe(32)
        hashed = await asyncio.to_thread(self._hasher.hash, secret)
        now = datetime.now(UTC)
        client = Client(
            id="c" + secrets.token_hex(10),
            secret_hash=hashed,
            created=now,
            secret_created=now,
            **fields,
        )
        self._store.add(client)
        self._by_id[client.id] = client
        return client, secret

    def replace(self, id: str, data: Any) -> Client:
        """The client's name, grant and record replaced (PUT); its secret stays."""
        fields = client_fields(data)
        client = replaced(self.get(id), **fields)
        self._store.replace(client)
        self._changed(client)
        return client

    async def rotate(self, id: str) -> tuple[Client, str]:
        """A new secret for the client (the old one stops working at once)."""
        self.get(id)
        secret = secrets.token_urlsafe(32)
        hashed = await asyncio.to_thread(self._hasher.hash, secret)
        client = replaced(self.get(id), secret_hash=hashed, secret_created=datetime.now(UTC))
        self._store.replace(client)
        self._changed(client)
        return client, secret

    def delete(self, id: str) -> Client:
        """Revoke the client at once: its next request is 401."""
        client = self.get(id)
        self._store.delete(id)
        del self._by_id[id]
        self._forget(id)
        return client

    def reload(self, ids: Iterable[str] | None) -> None:
        """Take clients as stored again (those of `ids`; None: all): what another process
        made, changed or revoked. What was verified of them is forgotten."""
        stored = {c.id: c for c in self._store.all()}
        for id in [*self._by_id, *stored] if ids is None else list(ids):
            client = stored.get(id)
            if client is None:
                self._by_id.pop(id, None)
            else:
                self._by_id[id] = client
            self._forget(id)

    def _changed(self, client: Client) -> None:
        self._by_id[client.id] = client
        self._forget(client.id)

    def _forget(self, id: str) -> None:
        for digest in self._digests.pop(id, ()):
            self._verified.pop(digest, None)
        self._grants.pop(id, None)

    def shown(self, client: Client, secret: str | None = None) -> Mapping[str, Any]:
        body = client.to_json()
        if secret is not None:
            body["secret"] = secret
        return body
