"""The kinds' check of entries as a gateway with the default configuration makes it (no
python module allowed but the built-ins'), for tests that make entries from JSON."""

from __future__ import annotations

from appserver.kinds import DeployEnv, target_check

check_target = target_check(DeployEnv())
