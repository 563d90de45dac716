"""Service kinds: how a stage of each `kind` is deployed and invoked.

A kind is a small class behind `appserver.kinds.base.Kind`; adding one is one new module
and one line in `KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping

from appserver.kinds.base import DeployEnv, Kind, Stage
from appserver.kinds.http import HttpKind
from appserver.kinds.python import PythonKind
from appserver.kinds.soap import SoapKind

KINDS: Mapping[str, Kind] = {k.name: k for k in (PythonKind(), HttpKind(), SoapKind())}

__all__ = ["KINDS", "DeployEnv", "Kind", "Stage"]
