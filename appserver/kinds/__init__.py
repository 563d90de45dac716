"""Service kinds: how a stage of each `kind` is deployed and invoked.

A kind is a small class behind `appserver.kinds.base.Kind`; adding one is one new module
and one line in `KINDS`. `check_target` is what the repository is given to check an
entry's `target` against its kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from appserver.connections import Connection
from appserver.kinds.base import DeployEnv, Kind, Stage
from appserver.kinds.http import HttpKind
from appserver.kinds.python import PythonKind
from appserver.kinds.soap import SoapKind
from repository.entry import TargetCheck
from repository.validation import schema_errors

KINDS: Mapping[str, Kind] = {k.name: k for k in (PythonKind(), HttpKind(), SoapKind())}

_TARGET_VALIDATORS = {
    name: jsonschema.Draft202012Validator(kind.target_schema) for name, kind in KINDS.items()
}


def target_check(env: DeployEnv, *, kinds_only: bool = False) -> TargetCheck:
    """What the repository is given to check an entry's `kind` and `target` (the errors of
    `/invalid-entry`, none when both are right): its kind's schema, then the kind's own
    checks under `env` (python: `[repository] python_modules`), unless `kinds_only`."""

    def check_target(kind: str, target: Mapping[str, Any]) -> list[dict[str, str]]:
        validator = _TARGET_VALIDATORS.get(kind)
        if validator is None:
            return [{"field": "kind", "reason": f"must be one of {sorted(KINDS)}"}]
        errors = schema_errors(validator, target, prefix="target")
        if errors or kinds_only:
            return errors
        return KINDS[kind].check_target(target, env)

    return check_target


__all__ = ["KINDS", "Connection", "DeployEnv", "Kind", "Stage", "target_check"]
