"""SPEC §10.1 and §10.8: no web page in the operator's browser can change the gateway, and
admin bodies are bounded in size, depth and numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Running, answer, http_entry, problem

ENTRY = http_entry("victim", "http://127.0.0.1:9/x")


async def raw(gw: Running, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    async with gw.http.request(method, gw.admin + path, data=body, headers=headers) as r:
        return await answer(r)


async def post_json(gw: Running, path: str, body: bytes, **headers: str) -> Any:
    return await raw(gw, "POST", path, body, **{"Content-Type": "application/json", **headers})


async def registered(gw: Running, name: str = "victim") -> bool:
    return (await gw.adm("GET", f"/services/{name}@1.0.0")).status == 200


# -- §10.1 cross-site ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Origin": "http://evil.example:8081"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port or subdomain is another site
    ],
)
async def test_a_cross_site_post_changes_nothing(gw: Running, headers: dict[str, str]) -> None:
    # A page's fetch() with text/plain needs no preflight: the gateway itself must refuse.
    body = json.dumps(ENTRY).encode()
    r = await raw(gw, "POST", "/services", body, **{"Content-Type": "text/plain", **headers})
    await problem(r, 403, "cross-site")
    assert not await registered(gw)


async def test_cross_site_put_delete_and_enable_are_refused(gw: Running) -> None:
    evil = {"Origin": "http://evil.example"}
    for method, path in [
        ("DELETE", "/services/validator@1.0.0"),
        ("POST", "/services/validator@1.0.0/disable"),
        ("PUT", "/purge/policy"),
        ("POST", "/purge"),
        ("DELETE", "/applications/x"),
    ]:
        r = await raw(gw, method, path, b"", **evil)
        await problem(r, 403, "cross-site")
    assert (await (await gw.adm("GET", "/services/validator@1.0.0")).json())["enabled"]


async def test_the_cross_site_check_comes_before_the_token(start_gateway: Any) -> None:
    gw = await start_gateway(admin={"token": "s3cret"})
    r = await raw(gw, "POST", "/services", b"{}", Origin="http://evil.example")
    await problem(r, 403, "cross-site")
    r = await raw(gw, "POST", "/services", b"{}", **{"Content-Type": "application/json"})
    await problem(r, 401, "invalid-credentials")


async def test_the_listeners_own_origin_and_configured_ones_may_change_state(
    start_gateway: Any,
) -> None:
    gw = await start_gateway(admin={"origins": ["https://admin.example.com"]})
    body = json.dumps(ENTRY).encode()
    own = gw.admin  # http://127.0.0.1:PORT, as a page the listener served would send it
    r = await post_json(gw, "/services", body, Origin=own, **{"Sec-Fetch-Site": "same-origin"})
    assert r.status == 201, r.body
    proxied = {**ENTRY, "name": "proxied"}
    r = await post_json(
        gw, "/services", json.dumps(proxied).encode(), Origin="https://ADMIN.example.com"
    )
    assert r.status == 201, r.body


async def test_reads_are_not_cross_site_checked(gw: Running) -> None:
    r = await raw(gw, "GET", "/services", Origin="http://evil.example")
    assert r.status == 200  # a page cannot read the answer: no CORS header is ever sent
    assert "Access-Control-Allow-Origin" not in r.headers


# -- §10.1 JSON only ---------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_a_json_body_needs_its_content_type(gw: Running, ctype: str) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    r = await raw(gw, "POST", "/services", json.dumps(ENTRY).encode(), **headers)
    await problem(r, 415, "unsupported-media-type")
    assert not await registered(gw)


async def test_json_with_a_charset_and_empty_bodies_are_fine(gw: Running) -> None:
    r = await raw(
        gw,
        "POST",
        "/services",
        json.dumps(ENTRY).encode(),
        **{"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert r.status == 201, r.body
    r = await raw(gw, "POST", "/services/victim@1.0.0/disable")  # no body, no type
    assert r.status == 200, r.body


async def test_the_bearer_scheme_is_matched_in_any_case(start_gateway: Any) -> None:
    gw = await start_gateway(admin={"token": "s3cret"})
    for scheme in ("Bearer", "bearer", "BEARER"):
        r = await raw(gw, "GET", "/services", Authorization=f"{scheme} s3cret")
        assert r.status == 200, scheme
    await problem(
        await raw(gw, "GET", "/services", Authorization="Basic s3cret"), 401, "invalid-credentials"
    )


# -- §10.8 bounded bodies ---------------------------------------------------------------------


async def test_a_body_over_one_mebibyte_is_413_with_the_limit(gw: Running) -> None:
    big = json.dumps({**ENTRY, "description": "x" * (1 << 20)}).encode()
    r = await post_json(gw, "/services", big)
    body = await problem(r, 413, "payload-too-large")
    assert body["limit"] == 1 << 20
    assert not await registered(gw)


async def test_an_import_may_carry_a_document_of_fetch_max_bytes(start_gateway: Any) -> None:
    gw = await start_gateway(assembler={"fetch_max_bytes": 2 << 20})
    document = "<definitions/>" + " " * (2 << 20)  # 2 MiB of a WSDL that is not one
    r = await post_json(gw, "/imports", json.dumps({"kind": "wsdl", "document": document}).encode())
    await problem(r, 422, "invalid-entry")  # read whole, then refused as a WSDL
    more = json.dumps({"kind": "wsdl", "document": document + " " * (1 << 20)}).encode()
    r = await post_json(gw, "/imports", more)
    assert (await problem(r, 413, "payload-too-large"))["limit"] == (2 << 20) + (1 << 20)


@pytest.mark.parametrize("depth", [65, 100_000])
async def test_deeply_nested_json_is_422_not_a_crash(gw: Running, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    r = await raw(gw, "PUT", "/purge/policy", body, **{"Content-Type": "application/json"})
    await problem(r, 422, "invalid-entry")


async def test_sixty_four_levels_are_read(gw: Running) -> None:
    nested: Any = "x"
    for _ in range(61):  # in {"params": {"p": {"default": ...}}}: 64 in all
        nested = [nested]
    r = await gw.adm("POST", "/services", {**ENTRY, "params": {"p": {"default": nested}}})
    assert r.status == 201, r.body


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
async def test_non_finite_numbers_are_refused_and_never_stored(gw: Running, number: bytes) -> None:
    r = await raw(
        gw,
        "PUT",
        "/purge/policy",
        b'{"max_idle_s": ' + number + b"}",
        **{"Content-Type": "application/json"},
    )
    await problem(r, 422, "invalid-entry")
    text = await (await gw.adm("GET", "/purge/policy")).text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the policy"))


@pytest.mark.parametrize("number", [b"7.0", b"7e0", b"7.5"])
async def test_an_integer_written_with_a_fraction_or_exponent_is_422(
    gw: Running, number: bytes
) -> None:
    r = await raw(
        gw,
        "PUT",
        "/purge/policy",
        b'{"max_apps": ' + number + b"}",
        **{"Content-Type": "application/json"},
    )
    body = await problem(r, 422, "invalid-entry")
    assert body["errors"][0]["field"] == "max_apps"
    assert (await (await gw.adm("GET", "/purge/policy")).json())["max_apps"] != 7


async def test_a_period_past_a_hundred_years_is_422_not_a_crash(gw: Running) -> None:
    # Found by schemathesis: the scheduler's arithmetic overflowed (500) on 1.9e16 s.
    for key in ("interval_s", "max_idle_s"):
        r = await gw.adm("PUT", "/purge/policy", {key: 1.8812425080964924e16})
        body = await problem(r, 422, "invalid-entry")
        assert body["errors"][0]["field"] == key
    assert (await gw.adm("PUT", "/purge/policy", {"interval_s": 86400 * 365})).status == 200
