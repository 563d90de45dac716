"""SPEC §5: a registration that changes how a deployed application's header resolves
undeploys it before it is acknowledged — a newer version of the same signature, a new
signature that makes a name ambiguous, a converter — and one that changes nothing
leaves it deployed."""

from __future__ import annotations

from tests.conftest import http_entry, problem


async def test_a_newer_version_is_used_at_once(gw, upstream):
    assert (await gw.adm("POST", "/services", http_entry("shout", f"{upstream}/upper"))).status
    first = await gw.call("shout", b"hi", ctype="text/plain")
    assert first.status == 200 and first.headers["Integration-Cache"] == "miss"
    assert (await gw.call("shout", b"hi", ctype="text/plain")).headers["Integration-Cache"] == "hit"
    newer = http_entry("shout", f"{upstream}/echo", version="1.1.0")
    assert (await gw.adm("POST", "/services", newer)).status == 201
    again = await gw.call("shout", b"hi", ctype="text/plain")
    assert again.headers["Integration-Cache"] == "miss"
    (application,) = [
        a for a in gw.gateway.applications if a.key == again.headers["Integration-App"]
    ]
    assert application.stage_ids == ("shout@1.1.0",)


async def test_a_new_signature_that_makes_a_name_ambiguous_is_409_at_once(gw, upstream):
    assert (await gw.adm("POST", "/services", http_entry("shout", f"{upstream}/upper"))).status
    assert (await gw.call("shout", b"hi", ctype="text/plain")).status == 200
    other = http_entry(
        "shout", f"{upstream}/upper", version="2.0.0",
        params={"lang": {"type": "string", "default": "en"}},
    )  # fmt: skip
    other["id"] = "shout-lang"
    assert (await gw.adm("POST", "/services", other)).status == 201
    await problem(await gw.call("shout", b"hi", ctype="text/plain"), 409, "ambiguous-service")


async def test_an_unrelated_registration_leaves_applications_deployed(gw, upstream):
    assert (await gw.adm("POST", "/services", http_entry("shout", f"{upstream}/upper"))).status
    assert (await gw.call("shout", b"hi", ctype="text/plain")).status == 200
    assert (await gw.adm("POST", "/services", http_entry("whisper", upstream))).status == 201
    assert (await gw.call("shout", b"hi", ctype="text/plain")).headers["Integration-Cache"] == "hit"


async def test_a_new_converter_that_makes_a_conversion_ambiguous(gw, upstream):
    assert (await gw.call("JSON -> XML", {"a": 1})).status == 200
    mine = http_entry("my_json_to_xml", upstream, inp=("application/json",),
                      out="application/xml", converter=True)  # fmt: skip
    assert (await gw.adm("POST", "/services", mine)).status == 201
    await problem(await gw.call("JSON -> XML", {"a": 1}), 409, "ambiguous-service")


async def test_enabling_an_entry_again_counts_as_registering_it(gw, upstream):
    newer = http_entry("shout", f"{upstream}/echo", version="1.1.0")
    for entry in (http_entry("shout", f"{upstream}/upper"), newer):
        assert (await gw.adm("POST", "/services", entry)).status == 201
    assert (await gw.adm("POST", "/services/shout@1.1.0/disable")).status == 200
    r = await gw.call("shout", b"hi", ctype="text/plain")
    assert r.status == 200
    assert (await gw.adm("POST", "/services/shout@1.1.0/enable")).status == 200
    again = await gw.call("shout", b"hi", ctype="text/plain")
    assert again.headers["Integration-Cache"] == "miss"
