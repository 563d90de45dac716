"""SPEC §3: `validator` without a schema checks the payload is well-formed for its media
type; for text/csv that is RFC 4180's quoting."""

from __future__ import annotations

import pytest

from tests.conftest import problem


@pytest.mark.parametrize(
    "body",
    [b'a,b\r\n"x,y","say ""hi"""\r\n', b'id,note\n1,"two\nlines"\n', b"", b"a,b,c\n,,\n"],
)
async def test_well_formed_csv_passes_unchanged(gw, body):
    r = await gw.call("validator", body, "text/csv")
    assert r.status == 200, r.body
    assert r.body == body and r.headers["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("body", [b'a,b\n"unclosed,1\n', b'a,"b"c\n', b'a\n"x" ,y\n'])
async def test_malformed_csv_is_rejected(gw, body):
    j = await problem(await gw.call("validator", body, "text/csv"), 422, "stage-rejected")
    assert j["stage"] == 0 and j["service"] == "validator@1.0.0" and "CSV" in j["reason"]
