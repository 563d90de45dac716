"""Runs purges on the policy's schedule with APScheduler's asyncio scheduler (SPEC §6)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from appserver.purge import PurgePolicy, cron_trigger

log = logging.getLogger("integration_gateway.purge")
JOB = "purge"


class PurgeScheduler:
    def __init__(self, run: Callable[[], Awaitable[None]]) -> None:
        self._run = run
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._schedule: tuple[str, float] | None = None
        self.description = "off"

    def start(self, policy: PurgePolicy) -> None:
        self._scheduler.start()
        self.apply(policy)

    def apply(self, policy: PurgePolicy) -> None:
        """Reschedule at once: `cron` when set, else every `interval_s` (0: no schedule).

        A policy whose schedule is unchanged keeps the job as it is: rescheduling would
        restart the interval, and a client that PUTs `max_apps` every minute would
        otherwise keep an hourly purge from ever running."""
        schedule = (policy.cron, policy.interval_s if not policy.cron else 0.0)
        if schedule == self._schedule:
            return
        self._schedule = schedule
        if policy.cron:
            trigger = cron_trigger(policy.cron)
            self.description = f"cron {policy.cron!r}"
        elif policy.interval_s > 0:
            trigger = IntervalTrigger(seconds=policy.interval_s, timezone="UTC")
            self.description = f"every {policy.interval_s:g} s"
        else:
            if self._scheduler.get_job(JOB) is not None:
                self._scheduler.remove_job(JOB)
            self.description = "off"
            log.info("purge schedule: off")
            return
        # One run at a time; a run missed while the loop was busy is run once, late.
        self._scheduler.add_job(
            self._run,
            trigger,
            id=JOB,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        log.info("purge schedule: %s", self.description)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
