"""Admin input as SPEC §10.8 bounds it: JSON of at most 64 nested arrays or objects, with
finite numbers only. Plain functions over bytes."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from igwcore.problems import InvalidEntry

MAX_DEPTH = 64
MIB = 1024 * 1024
BODY_LIMIT = MIB  # a JSON body of the admin API, but for POST /imports

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def loads(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `raw` (`null` when empty); 422 /invalid-entry when it is not
    JSON, nests deeper than `max_depth`, or holds NaN or an infinity."""
    if nesting(raw, stop=max_depth + 1) > max_depth:
        raise _invalid(f"nested more than {max_depth} arrays or objects deep")
    try:
        return json.loads(raw or b"null", parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _invalid(f"not JSON: {e}") from None
    except ValueError as e:  # from _refuse_constant
        raise _invalid(str(e)) from None


def nesting(raw: bytes, *, stop: int | None = None) -> int:
    """How deep arrays and objects nest in `raw` (brackets inside strings do not count),
    or `stop` once that deep; found without recursion, which a deep document attacks."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    deepest = 0
    for depth in itertools.accumulate(_STEP[b] for b in brackets):
        if depth > deepest:
            deepest = depth
            if deepest == stop:
                break
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _invalid(reason: str) -> InvalidEntry:
    return InvalidEntry(
        f"the body is not usable JSON: {reason}", errors=[{"field": "", "reason": reason}]
    )
