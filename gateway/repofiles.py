"""The repository as files, for version control (`services export|load`): a service
file an entry no import made, an import file an import (its source and options), as the
admin API's `GET /services:export` gives them. Nothing secret is in them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gateway.adminclient import AdminAPI, Failed, Status, quoted, read

EXPORTED = ("services", "imports")


def export(api: AdminAPI, folder: Path) -> dict[str, Any]:
    """The repository as files: a service file an entry, an import file an import. What an
    earlier export left in those two folders goes first, so that the folder is exactly
    the repository (commit it; `services load` it elsewhere, or use services/ as a
    service_dirs folder)."""
    exported = api.call("GET", "/services:export")
    try:
        for part in EXPORTED:
            (folder / part).mkdir(parents=True, exist_ok=True)
            for old in (folder / part).glob("*.yaml"):
                old.unlink()
        for entry in exported["services"]:
            _write_yaml(folder / "services" / f"{_file_name(entry['id'])}.yaml", entry)
        for i, source in enumerate(exported["imports"], 1):
            stem = _file_name(source.get("prefix") or source["kind"])
            _write_yaml(folder / "imports" / f"{i:03d}-{stem}.yaml", source)
    except OSError as e:
        raise Failed(Status.USAGE, f"services export: cannot write {folder}: {e}") from None
    return {
        "folder": str(folder),
        "services": len(exported["services"]),
        "imports": len(exported["imports"]),
    }


def load(api: AdminAPI, folder: Path) -> dict[str, Any]:
    """Register each service file (PUT where its id exists), then make each import."""
    entries = [yaml.safe_load(read(p)) for p in sorted((folder / "services").glob("*.yaml"))]
    sources = [yaml.safe_load(read(p)) for p in sorted((folder / "imports").glob("*.yaml"))]
    existing = {e["id"]: e for e in api.call("GET", "/services")["items"]}
    changed = 0
    for entry in entries:
        known = existing.get(entry["id"])
        if known is None:
            api.call("POST", "/services", entry)
            changed += 1
        elif {k: v for k, v in known.items() if k != "held"} != entry:
            api.call("PUT", "/services/" + quoted(entry["id"]), entry)
            changed += 1
    for source in sources:
        api.call("POST", "/imports", source)
    return {"changed": changed, "unchanged": len(entries) - changed, "imports": len(sources)}


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "entry"


def _write_yaml(path: Path, value: Any) -> None:
    path.write_text(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))
