"""The record of one WSDL or OpenAPI import (SPEC §5 `/imports`), as the repository keeps it."""

from __future__ import annotations

import json
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
    # What else the import was made with, for a refresh (OpenAPI: server_url, documents,
    # connection, refresh_s).
    options: dict[str, Any] = field(default_factory=dict, hash=False)
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
            **{k: v for k, v in self.options.items() if k != "documents"},
            "created": self.created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        if document:
            out["document"] = self.document
        return out


def source_of(record: ImportRecord) -> dict[str, Any]:
    """An import as `POST /imports` takes it again: its source (the URL, or the document
    and its base URL) and the options it was made with (an export's import file)."""
    source: dict[str, Any] = {"kind": record.kind}
    if record.url is not None:
        source["url"] = record.url
    else:
        source["document"] = record.document
        if record.base_url:
            source["base_url"] = record.base_url
    for key in ("prefix", "version"):
        value = getattr(record, key)
        if value:
            source[key] = value
    source.update(record.options)
    return source


def import_record(row: sqlite3.Row) -> ImportRecord:
    return ImportRecord(
        id=row["id"],
        kind=row["kind"],
        url=row["url"],
        document=row["document"],
        base_url=row["base_url"],
        prefix=row["prefix"],
        version=row["version"],
        options=json.loads(row["options"]),
        created=datetime.fromisoformat(row["created"]),
    )
