"""Connections (SPEC §3): the credentials an operator configures under an alias, which an
entry's `connection` names; an entry never holds a secret."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    """The credentials a `connection` alias adds to outgoing calls (`[connections.NAME]`);
    secrets are read from the environment when a stage deploys, never stored here."""

    headers: tuple[tuple[str, str], ...] = ()
    basic_user: str = ""
    basic_password_env: str = ""
    bearer_env: str = ""

    def outgoing_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.basic_user:
            password = os.environ.get(self.basic_password_env, "")
            token = base64.b64encode(f"{self.basic_user}:{password}".encode()).decode()
            out["Authorization"] = f"Basic {token}"
        if self.bearer_env:
            out["Authorization"] = f"Bearer {os.environ.get(self.bearer_env, '')}"
        return out
