"""Request ids the gateway makes: 32 hex digits, never twice, not even across a fork."""

from __future__ import annotations

import os
import re

from gateway.logs import new_request_id


def test_made_ids_are_hex_and_never_repeat():
    made = [new_request_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", r) for r in made)
    assert len(set(made)) == len(made)


def test_a_sane_client_id_is_kept_and_an_insane_one_replaced():
    assert new_request_id("abc-123") == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", new_request_id("x" * 200))
    assert re.fullmatch(r"[0-9a-f]{32}", new_request_id("tab\there"))


def test_a_forked_process_makes_ids_of_its_own():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then gone
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    mine = new_request_id()
    assert child[:16] != mine[:16]
