"""The record of one WSDL or OpenAPI import (SPEC §5 `/imports`), as the repository keeps it."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ImportRecord:
    """One WSDL or OpenAPI import (SPEC §5 `/imports`); `url` is None for a document."""

    kind: str
    document: str
    url: str | None = None
    base_url: str | None = None
    prefix: str | None = None
    version: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self, *, document: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "base_url": self.base_url,
            "prefix": self.prefix,
            "version": self.version,
            "created": self.created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        if document:
            out["document"] = self.document
        return out


def import_record(row: sqlite3.Row) -> ImportRecord:
    return ImportRecord(
        id=row["id"],
        kind=row["kind"],
        url=row["url"],
        document=row["document"],
        base_url=row["base_url"],
        prefix=row["prefix"],
        version=row["version"],
        created=datetime.fromisoformat(row["created"]),
    )
