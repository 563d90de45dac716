"""Clients (SPEC §9, seed 000): an integration's own account — its id, a slow salted hash
of its secret, the services it may use (`allow`) — and the record of the integration the
seed keeps with it: what it is (`description`), the sending system (`source`) and the
media types it sends (`sends`, information, never a check).

A client's `allow` patterns are shell-style (`*` matches any characters, dots included)
over a service's name or id; `wsdl:HOST/PATH` matches SOAP entries whose WSDL URL without
its scheme matches `HOST/PATH` (a stage from a fetched WSDL among them). `Grant` compiles
them once into one expression each. Stored in the repository's database, beside the entries.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from igwcore.problems import Conflict, NotFound
from repository.entry import MEDIA_RE, ServiceEntry
from repository.validation import StrictValidator, invalid, schema_errors

__all__ = ["CLIENT_SCHEMA", "Client", "ClientStore", "Grant", "client_fields"]

WSDL = "wsdl:"
MAX_PATTERNS = 256
# Printable, no spaces: a pattern is a name, an id or a URL's host and path.
PATTERN_RE = r"^[!-~]{1,512}$"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

CLIENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "allow"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "allow": {
            "type": "array",
            "maxItems": MAX_PATTERNS,
            "items": {"type": "string", "pattern": PATTERN_RE},
        },
        "description": {"type": "string", "maxLength": 4096},
        "source": {"type": "string", "maxLength": 2048},
        "sends": {
            "type": "array",
            "maxItems": 64,
            "items": {"type": "string", "pattern": MEDIA_RE.pattern},
        },
        # What GET answers, so that it can be sent back as it is: never taken from a body.
        "id": {"type": "string", "readOnly": True},
        "created": {"type": "string", "readOnly": True},
        "secret_created": {"type": "string", "readOnly": True},
    },
}
_VALIDATOR = StrictValidator(CLIENT_SCHEMA)
_SOURCE_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def client_fields(data: Any) -> dict[str, Any]:
    """The fields a POST or PUT of /clients gives (name, allow and the integration's
    record), checked; 422 /invalid-entry naming each bad one."""
    if not isinstance(data, dict):
        raise invalid("a client is a JSON object", [{"field": "", "reason": "not an object"}])
    errors = schema_errors(_VALIDATOR, data)
    if not errors:
        source = data.get("source", "")
        if source and not _SOURCE_RE.match(source):
            errors.append({"field": "source", "reason": "an http or https URL, or empty"})
        for i, pattern in enumerate(data["allow"]):
            if pattern == WSDL or pattern.startswith(WSDL + "/"):
                errors.append({"field": f"allow/{i}", "reason": "wsdl: takes HOST/PATH"})
    if errors:
        raise invalid("the client is invalid", errors)
    return {
        "name": data["name"],
        "allow": tuple(data["allow"]),
        "description": data.get("description", ""),
        "source": data.get("source", ""),
        "sends": tuple(data.get("sends", ())),
    }


class Grant:
    """A client's `allow` patterns, compiled: which services it may use."""

    def __init__(self, patterns: Sequence[str]) -> None:
        plain = [p for p in patterns if not p.startswith(WSDL)]
        wsdl = [_host_lowered(p[len(WSDL) :]) for p in patterns if p.startswith(WSDL)]
        self._plain = _compiled(plain)
        self._wsdl = _compiled(wsdl)

    def allows(self, entry: ServiceEntry) -> bool:
        plain = self._plain
        if plain is not None and (plain.match(entry.name) or plain.match(entry.id)):
            return True
        if self._wsdl is None or entry.kind != "soap":
            return False
        url = entry.target.get("wsdl")
        return isinstance(url, str) and bool(self._wsdl.match(_host_lowered(_SCHEME.sub("", url))))

    def refused(self, entries: Iterable[ServiceEntry]) -> tuple[str, ...]:
        """The ids of `entries` it does not allow, each once, in order."""
        return tuple(dict.fromkeys(e.id for e in entries if not self.allows(e)))


def _compiled(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p) for p in patterns))


def _host_lowered(host_path: str) -> str:
    host, slash, path = host_path.partition("/")
    return host.lower() + slash + path


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    allow: tuple[str, ...]
    secret_hash: str = field(repr=False)
    created: datetime
    secret_created: datetime
    description: str = ""
    source: str = ""
    sends: tuple[str, ...] = ()

    @property
    def grant(self) -> Grant:
        # Made once: a change to the client is a new Client (frozen).
        grant = self.__dict__.get("_grant")
        if grant is None:
            grant = Grant(self.allow)
            object.__setattr__(self, "_grant", grant)
        return grant

    def to_json(self) -> dict[str, Any]:
        """As the admin API shows it: never the secret, nor its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "allow": list(self.allow),
            "description": self.description,
            "source": self.source,
            "sends": list(self.sends),
            "created": _rfc3339(self.created),
            "secret_created": _rfc3339(self.secret_created),
        }


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ClientStore:
    """The clients in the repository's database (table `clients`); `transaction` and
    `rows` are the repository's own, one lock and one transaction a call, and take `?`
    placeholders whichever the database."""

    def __init__(self, transaction: Any, rows: Any) -> None:
        self._transaction = transaction
        self._rows = rows

    def all(self) -> list[Client]:
        return [_client(row) for row in self._rows("SELECT * FROM clients ORDER BY created, id")]

    def add(self, client: Client) -> Client:
        with self._transaction() as db:
            exists = db.execute("SELECT 1 FROM clients WHERE id = ?", (client.id,)).fetchone()
            if exists is not None:
                raise Conflict(f"a client with id {client.id!r} exists")
            db.execute(
                "INSERT INTO clients (id, name, secret_hash, data, created, secret_created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    client.id,
                    client.name,
                    client.secret_hash,
                    _data(client),
                    client.created.isoformat(),
                    client.secret_created.isoformat(),
                ),
            )
        return client

    def replace(self, client: Client) -> Client:
        """Store `client` over the one of its id, secret included; NotFound if absent."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE clients SET name = ?, secret_hash = ?, data = ?, secret_created = ?"
                " WHERE id = ?",
                (
                    client.name,
                    client.secret_hash,
                    _data(client),
                    client.secret_created.isoformat(),
                    client.id,
                ),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no client with id {client.id!r}")
        return client

    def delete(self, id: str) -> None:
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM clients WHERE id = ?", (id,))
            if cursor.rowcount == 0:
                raise NotFound(f"no client with id {id!r}")


def _data(client: Client) -> str:
    return json.dumps(
        {
            "allow": list(client.allow),
            "description": client.description,
            "source": client.source,
            "sends": list(client.sends),
        },
        sort_keys=True,
    )


def _client(row: Any) -> Client:
    data = json.loads(row["data"])
    return Client(
        id=row["id"],
        name=row["name"],
        allow=tuple(data["allow"]),
        secret_hash=row["secret_hash"],
        created=datetime.fromisoformat(row["created"]),
        secret_created=datetime.fromisoformat(row["secret_created"]),
        description=data["description"],
        source=data["source"],
        sends=tuple(data["sends"]),
    )


def replaced(client: Client, **changes: Any) -> Client:
    """`client` with `changes` (a new Client: its grant is compiled afresh)."""
    return dataclasses.replace(client, **changes)
