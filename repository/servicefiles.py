"""Service files (`[repository] service_dirs`): entries an operator keeps as files.

Each folder's `*.json` files hold one entry or a list of entries; its `*.yaml` and
`*.yml` files hold one entry or a list in each YAML document. Folders are read in the
order given, files by name, not recursively. A file that does not parse or holds an
invalid entry makes the whole read fail, naming that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from igwcore.problems import InvalidEntry
from repository.entry import ServiceEntry, TargetCheck

__all__ = ["ServiceFileEntry", "read_service_dirs"]

PATTERNS = ("*.json", "*.yaml", "*.yml")


@dataclass(frozen=True)
class ServiceFileEntry:
    entry: ServiceEntry
    file: Path


def read_service_dirs(dirs: Iterable[Path], check_target: TargetCheck) -> list[ServiceFileEntry]:
    """Every entry of every service file; InvalidEntry (naming the file) on the first bad one."""
    found: list[ServiceFileEntry] = []
    seen: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            raise _invalid(folder, "", "not a folder")
        files = sorted({p for pattern in PATTERNS for p in folder.glob(pattern) if p.is_file()})
        for file in files:
            for where, data in _documents(file):
                entry = _entry(file, where, data, check_target)
                if entry.id in seen:
                    raise _invalid(
                        file, where, f"id {entry.id!r} is also defined in {seen[entry.id]}"
                    )
                seen[entry.id] = file
                found.append(ServiceFileEntry(entry, file))
    return found


def _documents(file: Path) -> list[tuple[str, Any]]:
    """(where in the file, the entry's JSON) for each entry the file holds."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _invalid(file, "", f"cannot be read: {e}") from e
    try:
        if file.suffix == ".json":
            documents = [json.loads(text)]
        else:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except (ValueError, yaml.YAMLError) as e:
        raise _invalid(file, "", f"does not parse: {e}".replace("\n", " ")) from e
    out: list[tuple[str, Any]] = []
    for d, document in enumerate(documents):
        prefix = f"{d}/" if len(documents) > 1 else ""
        if isinstance(document, list):
            out.extend((f"{prefix}{i}", item) for i, item in enumerate(document))
        else:
            out.append((prefix.rstrip("/"), document))
    return out


def _entry(file: Path, where: str, data: Any, check_target: TargetCheck) -> ServiceEntry:
    try:
        return ServiceEntry.from_json(data, check_target=check_target)
    except InvalidEntry as e:
        errors = [
            {
                "field": _field(file, "/".join(p for p in (where, err["field"]) if p)),
                "reason": err["reason"],
            }
            for err in e.members["errors"]
        ]
        raise InvalidEntry(f"{file}: {e.detail}", errors=errors) from e


def _field(file: Path, pointer: str) -> str:
    return f"{file}#/{pointer}" if pointer else str(file)


def _invalid(file: Path, where: str, reason: str) -> InvalidEntry:
    return InvalidEntry(
        f"{file}: {reason}", errors=[{"field": _field(file, where), "reason": reason}]
    )
