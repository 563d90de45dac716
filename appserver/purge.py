"""Which applications a purge removes (SPEC §6), as a plain function over plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import jsonschema

from gateway.problems import InvalidEntry

NS = 1_000_000_000


@dataclass(frozen=True)
class PurgePolicy:
    interval_s: float = 60.0
    cron: str = ""
    max_idle_s: float = 600.0
    max_apps: int = 1000
    max_bytes: int = 268_435_456
    on_deploy: bool = True

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def updated_from(self, data: Any) -> PurgePolicy:
        """A whole or partial policy (SPEC §6); missing keys keep their values; 422 if bad."""
        errors = [
            {"field": "/".join(map(str, e.absolute_path)) or "", "reason": e.message}
            for e in _POLICY_VALIDATOR.iter_errors(data)
        ]
        if not errors and data.get("cron"):
            try:
                cron_trigger(data["cron"])
            except ValueError as e:
                errors.append({"field": "cron", "reason": f"not a cron expression: {e}"})
        if errors:
            raise InvalidEntry(
                f"invalid purge policy: {errors[0]['field']}: {errors[0]['reason']}",
                errors=errors,
            )
        changes = {
            k: (float(v) if k in ("interval_s", "max_idle_s") else v) for k, v in data.items()
        }
        return replace(self, **changes)


def cron_trigger(expression: str) -> Any:
    """APScheduler's trigger for a five-field crontab line (minute hour day month weekday)."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone="UTC")


_POLICY_VALIDATOR = jsonschema.Draft202012Validator(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "interval_s": {"type": "number", "minimum": 0},
            "cron": {"type": "string"},
            "max_idle_s": {"type": "number", "minimum": 0},
            "max_apps": {"type": "integer", "minimum": 0},
            "max_bytes": {"type": "integer", "minimum": 0},
            "on_deploy": {"type": "boolean"},
        },
    }
)


@dataclass(frozen=True)
class Candidate:
    """What selection needs to know of one application."""

    key: str
    app_server: str
    last_used_ns: int
    in_flight: int
    size_bytes: int


@dataclass(frozen=True)
class Budget:
    apps: int
    bytes: int


def select(
    lru_order: Iterable[Candidate],
    policy: PurgePolicy,
    now_ns: int,
    *,
    reserve: Mapping[str, Budget] | None = None,
) -> list[str]:
    """Keys to purge: idle for `max_idle_s` or longer, then least recently used until each
    app server holds at most `max_apps` and `max_bytes` — counting `reserve` (room wanted
    for a deployment about to land there). Applications in flight are never chosen.

    `lru_order` runs from least to most recently used.
    """
    reserve = reserve or {}
    idle_before = now_ns - int(policy.max_idle_s * NS)
    chosen: list[str] = []
    kept: dict[str, list[Candidate]] = {}
    count: dict[str, int] = {}
    size: dict[str, int] = {}
    for c in lru_order:
        if c.in_flight == 0 and c.last_used_ns <= idle_before:
            chosen.append(c.key)
            continue
        kept.setdefault(c.app_server, []).append(c)
        count[c.app_server] = count.get(c.app_server, 0) + 1
        size[c.app_server] = size.get(c.app_server, 0) + c.size_bytes
    for server in set(kept) | set(reserve):
        extra = reserve.get(server, Budget(0, 0))
        n = count.get(server, 0) + extra.apps
        b = size.get(server, 0) + extra.bytes
        for c in kept.get(server, ()):
            if n <= policy.max_apps and b <= policy.max_bytes:
                break
            if c.in_flight:
                continue
            chosen.append(c.key)
            n -= 1
            b -= c.size_bytes
    return chosen


def fits(policy: PurgePolicy, apps: int, size_bytes: int) -> bool:
    return apps <= policy.max_apps and size_bytes <= policy.max_bytes
