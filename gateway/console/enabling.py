"""Enabling and disabling a service (SPEC §5), for the admin API's
`POST /services/{id}/enable|disable` and the console's buttons alike.

It stands in the console's package because the admin API imports the console (its routes,
its sign-in) and the console may not import the admin API back: one function, two callers.
"""

from __future__ import annotations

import logging

from gateway.runtime import Gateway
from igwcore.problems import InvalidEntry
from repository.entry import ServiceEntry

log = logging.getLogger("integration_gateway.admin")


async def set_enabled(gw: Gateway, sid: str, enabled: bool) -> ServiceEntry:
    """Take the entry `sid` out of resolution or put it back, undeploying the applications
    using it on every worker; a held-back entry cannot be enabled (InvalidEntry)."""
    if enabled and sid in gw.held:
        reason = gw.held[sid]
        raise InvalidEntry(
            f"{sid} cannot be enabled: {reason}",
            errors=[{"field": "target/callable", "reason": reason}],
        )
    entry = gw.repository.set_enabled(sid, enabled)
    await gw.services_changed([sid])
    if enabled:
        await gw.registered([entry])
    log.info("%s %s", "enabled" if enabled else "disabled", sid)
    return entry
