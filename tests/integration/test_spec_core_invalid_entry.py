"""SPEC §5: a bad entry or policy is 422 /invalid-entry whose `errors` name the field, also
when the field is one the document should not have, or one it lacks inside an object."""

from __future__ import annotations

from tests.conftest import http_entry, problem


async def test_unknown_entry_member_is_the_field(gw, upstream):
    entry = {**http_entry("spec.extra", upstream + "/echo"), "colour": "red"}
    body = await problem(await gw.adm("POST", "/services", entry), 422, "invalid-entry")
    assert {"field": "colour", "reason": body["errors"][0]["reason"]} in body["errors"]


async def test_missing_target_member_is_named_with_its_path(gw):
    entry = {"name": "spec.nourl", "kind": "http", "target": {"method": "POST"}}
    body = await problem(await gw.adm("POST", "/services", entry), 422, "invalid-entry")
    assert [e["field"] for e in body["errors"]] == ["target/url"]


async def test_unknown_policy_key_is_the_field(gw):
    r = await gw.adm("PUT", "/purge/policy", {"max_apps": 5, "max_age": 3})
    body = await problem(r, 422, "invalid-entry")
    assert [e["field"] for e in body["errors"]] == ["max_age"]
    assert (await (await gw.adm("GET", "/purge/policy")).json())["max_apps"] != 5


async def test_unknown_key_of_a_one_off_purge_is_the_field(gw):
    body = await problem(await gw.adm("POST", "/purge", {"idle": 0}), 422, "invalid-entry")
    assert [e["field"] for e in body["errors"]] == ["idle"]
