"""Purging (SPEC §6) as plain functions over plain data: the policy, and which
applications a purge removes.

Where the policy comes from. `config.toml`'s `[purge]` gives the values; a
`PUT /purge/policy` takes effect at once and is stored in the repository (its
`settings` table), so it outlives a restart. What is stored is the PUT's result where it
differs from `[purge]` (`overrides`); at start, each stored key wins over `[purge]`
(`with_overrides`), and the keys not stored follow `config.toml`, whatever it says by
then. PUT a key back to its `[purge]` value and it follows `config.toml` again.
A `POST /purge` body overrides the policy for that one run and is not stored.

Selection (`Selection`) runs in slices, so that a caller with 100,000 applications can
give the event loop a turn between slices; no clock is read here (`now_ns` is passed in).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

from apscheduler.triggers.cron import CronTrigger

from igwcore.problems import InvalidEntry
from repository.validation import StrictValidator, invalid, schema_errors

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
        errors = schema_errors(_POLICY_VALIDATOR, data)
        if not errors and data.get("cron"):
            try:
                cron_trigger(data["cron"])
            except ValueError as e:
                errors.append({"field": "cron", "reason": f"not a cron expression: {e}"})
        if errors:
            raise invalid("invalid purge policy", errors)
        changes = {
            k: (float(v) if k in ("interval_s", "max_idle_s") else v) for k, v in data.items()
        }
        return replace(self, **changes)


def overrides(policy: PurgePolicy, base: PurgePolicy) -> dict[str, Any]:
    """What `policy` sets apart from `base` (config.toml's `[purge]`): the stored part."""
    given = base.to_json()
    return {k: v for k, v in policy.to_json().items() if v != given[k]}


def with_overrides(base: PurgePolicy, stored: Any) -> tuple[PurgePolicy, list[str]]:
    """`base` with the stored overrides applied, and the keys that could not be (unknown
    to this release, or invalid: those keep `base`'s value)."""
    if not isinstance(stored, dict):
        return base, ["(not an object)"]
    known = {f.name for f in fields(PurgePolicy)}
    policy, ignored = base, sorted(k for k in stored if k not in known)
    for key in sorted(known & stored.keys()):
        try:
            policy = policy.updated_from({key: stored[key]})
        except InvalidEntry:
            ignored.append(key)
    return policy, ignored


def cron_trigger(expression: str) -> Any:
    """APScheduler's trigger for a five-field crontab line (minute hour day month weekday)."""
    return CronTrigger.from_crontab(expression, timezone="UTC")


# The longest period a policy may name: a hundred years. Longer ones overflow the clock's
# arithmetic (the scheduler's next run, nanoseconds of idleness) and mean "never" anyway.
MAX_SECONDS = 100 * 366 * 86_400

POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "interval_s": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
        "cron": {"type": "string"},
        "max_idle_s": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
        "max_apps": {"type": "integer", "minimum": 0},
        "max_bytes": {"type": "integer", "minimum": 0},
        "on_deploy": {"type": "boolean"},
    },
}
_POLICY_VALIDATOR = StrictValidator(POLICY_SCHEMA)


class Candidate(NamedTuple):
    """What selection needs to know of one application, as it was when offered.

    A tuple rather than a dataclass: a purge makes one for each of 100,000 applications,
    and a tuple is made and freed in half the time, and is not followed by the GC."""

    key: str
    app_server: str
    last_used_ns: int
    in_flight: int
    size_bytes: int


@dataclass(frozen=True)
class Budget:
    apps: int
    bytes: int


NO_ROOM = Budget(0, 0)


class Selection:
    """Which applications a purge removes, in resumable form, for a caller that works in
    slices.

    Offer every candidate, in any order, in as many slices as suits the caller; `offer`
    answers at once whether one has been idle long enough to go. Then `over_budget()`
    names, least recently used first, those that must also go so that each app server
    holds at most `max_apps` and `max_bytes` — counting `reserve`, room wanted for a
    deployment about to land there. Applications in flight never go.

    Least recently used means the smallest `last_used_ns`, from a clock that never
    ties. The kept candidates are sorted a run of `RUN` at a time as they are offered,
    and the runs merged lazily, so that no single call sorts them all.
    """

    RUN = 1024

    def __init__(
        self, policy: PurgePolicy, now_ns: int, *, reserve: Mapping[str, Budget] | None = None
    ) -> None:
        self._policy = policy
        self._idle_before = now_ns - int(policy.max_idle_s * NS)
        self._reserve = dict(reserve or {})
        self._runs: dict[str, list[list[Candidate]]] = {}
        self._count: dict[str, int] = {}
        self._size: dict[str, int] = {}

    def offer(self, c: Candidate) -> bool:
        """True when `c` has been idle for `max_idle_s` or longer; else it is kept."""
        if c.in_flight == 0 and c.last_used_ns <= self._idle_before:
            return True
        server = c.app_server
        runs = self._runs.get(server)
        if runs is None:
            runs = self._runs[server] = [[]]
            self._count[server] = self._size[server] = 0
        run = runs[-1]
        run.append(c)
        if len(run) == self.RUN:
            run.sort(key=_last_used)
            runs.append([])
        self._count[server] += 1
        self._size[server] += c.size_bytes
        return False

    def over_budget(self) -> Iterator[Candidate]:
        """The kept candidates that must go, app server by app server, oldest first."""
        max_apps, max_bytes = self._policy.max_apps, self._policy.max_bytes
        for server in sorted(self._runs.keys() | self._reserve.keys()):
            extra = self._reserve.get(server, NO_ROOM)
            n = self._count.get(server, 0) + extra.apps
            b = self._size.get(server, 0) + extra.bytes
            if n <= max_apps and b <= max_bytes:
                continue
            runs = self._runs.get(server, [])
            if runs:
                runs[-1].sort(key=_last_used)
            for c in heapq.merge(*runs, key=_last_used):
                if n <= max_apps and b <= max_bytes:
                    break
                if c.in_flight:
                    continue
                yield c
                n -= 1
                b -= c.size_bytes

    def discard(self) -> Iterator[None]:
        """Let go of the kept candidates a run at a time: freeing 100,000 at once would
        hold a caller that works in slices for tens of milliseconds."""
        for runs in self._runs.values():
            while runs:
                runs.pop()
                yield


def _last_used(c: Candidate) -> int:
    return c.last_used_ns


def fits(policy: PurgePolicy, apps: int, size_bytes: int) -> bool:
    return apps <= policy.max_apps and size_bytes <= policy.max_bytes
