"""Scoped clients through the whole gateway (SPEC §9): the real listeners on loopback, the
two checks in SPEC §2's order, grants by pattern, revocation and rotation at once, and a
secret that shows only in the answer that made it."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path

import pytest

from tests.conftest import http_entry, problem

REQUIRED = {"require_client_auth": True, "stage_timeout_s": 2}


def basic(id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def make_client(gw, allow, **record):
    r = await gw.adm("POST", "/clients", {"name": "crm", "allow": allow, **record})
    assert r.status == 201, await r.text()
    body = await r.json()
    return body["id"], body["secret"], body


@pytest.fixture
async def ga(start_gateway, upstream):
    return await start_gateway(upstream, gateway=REQUIRED)


async def test_no_credentials_is_401_with_a_basic_challenge(ga):
    r = await ga.call("validator", {"a": 1})
    j = await problem(r, 401, "invalid-credentials")
    assert r.headers["WWW-Authenticate"] == 'Basic realm="integration-gateway"'
    assert "Authorization: Basic" in j["detail"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic"],
)
async def test_malformed_credentials_are_401(ga, authorization):
    r = await ga.call("validator", {"a": 1}, headers={"Authorization": authorization})
    await problem(r, 401, "invalid-credentials")


async def test_a_wrong_secret_and_an_unknown_id_are_401_alike(ga):
    id, _, _ = await make_client(ga, ["*"])
    wrong = await ga.call("validator", {"a": 1}, headers=basic(id, "not-the-secret"))
    unknown = await ga.call("validator", {"a": 1}, headers=basic("c0000", "x"))
    a = await problem(wrong, 401, "invalid-credentials")
    b = await problem(unknown, 401, "invalid-credentials")
    assert a["detail"] == b["detail"]


async def test_credentials_come_before_the_header_and_after_the_body_size(ga):
    # SPEC §2's order: 413 by Content-Length, then 401, then the header's 400.
    r = await ga.call("validator | |", {"a": 1})
    await problem(r, 401, "invalid-credentials")
    id, secret, _ = await make_client(ga, ["*"])
    r = await ga.call("validator | |", {"a": 1}, headers=basic(id, secret))
    await problem(r, 400, "syntax")
    big = b"x" * (10_485_760 + 1)
    r = await ga.call("validator", big)
    await problem(r, 413, "payload-too-large")


async def test_grant_refuses_exactly_the_stages_outside_it_on_misses_and_hits(ga):
    id, secret, _ = await make_client(ga, ["validator", "logger"])
    auth = basic(id, secret)
    ok = await ga.call("validator", {"a": 1}, headers=auth)
    assert ok.status == 200, await ok.text()
    assert (await ga.call("validator", {"a": 1}, headers=auth)).headers[
        "Integration-Cache"
    ] == "hit"
    r = await ga.call("validator | JSON -> XML | xml_to_json", {"a": 1}, headers=auth)
    j = await problem(r, 403, "not-allowed")
    assert j["services"] == ["json_to_xml@1.0.0", "xml_to_json@1.0.0"]
    assert ga.gateway.applications.get(r.headers["Integration-App"]) is None  # not deployed
    # Deployed for another client, the application is still refused to this one.
    other_id, other_secret, _ = await make_client(ga, ["*"])
    r2 = await ga.call("validator | JSON -> XML", {"a": 1}, headers=basic(other_id, other_secret))
    assert r2.status == 200, await r2.text()
    r3 = await ga.call("validator | JSON -> XML", {"a": 1}, headers=auth)
    assert (await problem(r3, 403, "not-allowed"))["services"] == ["json_to_xml@1.0.0"]


async def test_grant_comes_after_resolution_and_before_the_types(ga):
    id, secret, _ = await make_client(ga, ["validator"])
    auth = basic(id, secret)
    await problem(await ga.call("nosuchservice", {"a": 1}, headers=auth), 404, "service-not-found")
    # xml_to_json cannot take JSON (a 415), but the grant speaks first.
    r = await ga.call("xml_to_json", {"a": 1}, headers=auth)
    assert (await problem(r, 403, "not-allowed"))["services"] == ["xml_to_json@1.0.0"]


async def test_a_grant_narrowed_by_pattern_and_changed_by_put(ga, upstream):
    for name in ("customer.cz.order", "customer.de.order", "billing.invoice"):
        r = await ga.adm("POST", "/services", http_entry(name, f"{upstream}/echo"))
        assert r.status == 201, await r.text()
    id, secret, _ = await make_client(ga, ["customer.cz.*", "validator@1.*"])
    auth = basic(id, secret)
    assert (await ga.call("customer.cz.order", {"a": 1}, headers=auth)).status == 200
    assert (await ga.call("validator", {"a": 1}, headers=auth)).status == 200
    r = await ga.call("customer.de.order | billing.invoice", {"a": 1}, headers=auth)
    assert (await problem(r, 403, "not-allowed"))["services"] == [
        "customer.de.order@1.0.0",
        "billing.invoice@1.0.0",
    ]
    put = await ga.adm("PUT", f"/clients/{id}", {"name": "crm", "allow": ["customer.*"]})
    assert put.status == 200, await put.text()
    assert (await put.json())["allow"] == ["customer.*"]
    assert (await ga.call("customer.de.order", {"a": 1}, headers=auth)).status == 200
    r = await ga.call("validator", {"a": 1}, headers=auth)  # a hit, now refused
    assert (await problem(r, 403, "not-allowed"))["services"] == ["validator@1.0.0"]


async def test_an_inserted_converter_is_checked_too(start_gateway, upstream):
    ga = await start_gateway(upstream, gateway=REQUIRED, assembler={"auto_convert": True})
    xml = http_entry("xmlsink", f"{upstream}/echo", inp=("application/xml",))
    assert (await ga.adm("POST", "/services", xml)).status == 201
    id, secret, _ = await make_client(ga, ["xmlsink", "xml_to_json"])
    r = await ga.call(
        "xml_to_json | xmlsink", b"<a>1</a>", ctype="application/xml", headers=basic(id, secret)
    )
    assert (await problem(r, 403, "not-allowed"))["services"] == ["json_to_xml@1.0.0"]


PEEK = """
def peek(message, request):
    return {k.lower(): v for k, v in request.headers.items()}
"""


async def test_the_verified_authorization_never_reaches_a_stage(
    start_gateway, tmp_path, monkeypatch
):
    (tmp_path / "peekmod.py").write_text(PEEK)
    monkeypatch.syspath_prepend(str(tmp_path))
    ga = await start_gateway(gateway=REQUIRED, repository={"python_modules": ["peekmod"]})
    entry = {"name": "peek", "kind": "python", "target": {"callable": "peekmod:peek"}}
    assert (await ga.adm("POST", "/services", entry)).status == 201
    id, secret, _ = await make_client(ga, ["peek", "logger"])
    auth = basic(id, secret)
    r = await ga.call("peek", {"a": 1}, headers={**auth, "X-Mine": "kept"})
    assert r.status == 200, await r.text()
    seen = await r.json()
    assert "authorization" not in seen and seen["x-mine"] == "kept"
    r = await ga.call("logger(level=DEBUG, file=calls.log) | peek", {"a": 1}, headers=auth)
    assert r.status == 200, await r.text()
    written = "".join(p.read_text() for p in Path(tmp_path, "var", "log").glob("*"))
    assert "POST /" in written and secret not in written


async def test_revocation_is_at_once_while_requests_flow(ga):
    id, secret, _ = await make_client(ga, ["validator"])
    auth = basic(id, secret)
    statuses: list[int] = []
    revoked = asyncio.Event()
    after: list[int] = []

    async def flow() -> None:
        while len(after) < 20:
            r = await ga.call("validator", {"a": 1}, headers=auth)
            (after if revoked.is_set() else statuses).append(r.status)

    flows = [asyncio.create_task(flow()) for _ in range(4)]
    while len(statuses) < 20:
        await asyncio.sleep(0.01)
    r = await ga.adm("DELETE", f"/clients/{id}")
    assert r.status == 204
    revoked.set()
    await asyncio.gather(*flows)
    assert set(statuses) == {200}
    assert set(after) == {401}, after  # every request sent after the DELETE answered
    await problem(await ga.adm("GET", f"/clients/{id}"), 404, "not-found")
    await problem(await ga.adm("DELETE", f"/clients/{id}"), 404, "not-found")


async def test_a_rotated_secret_replaces_the_old_one_at_once(ga):
    id, old, _ = await make_client(ga, ["validator"])
    assert (await ga.call("validator", {"a": 1}, headers=basic(id, old))).status == 200
    r = await ga.adm("POST", f"/clients/{id}/secret")
    assert r.status == 200, await r.text()
    new = (await r.json())["secret"]
    assert new != old
    await problem(
        await ga.call("validator", {"a": 1}, headers=basic(id, old)), 401, "invalid-credentials"
    )
    assert (await ga.call("validator", {"a": 1}, headers=basic(id, new))).status == 200


async def test_capabilities_answer_the_calling_client(ga, upstream):
    assert (await ga.adm("POST", "/services", http_entry("customer.cz.order", upstream))).status
    id, secret, _ = await make_client(ga, ["customer.*", "validator"])
    await problem(
        await ga.call(None, method="GET", path="/_gateway/capabilities"),
        401,
        "invalid-credentials",
    )
    r = await ga.call(None, method="GET", path="/_gateway/capabilities", headers=basic(id, secret))
    assert r.status == 200, await r.text()
    assert await r.json() == {
        "client": id,
        "allow": ["customer.*", "validator"],
        "services": ["customer.cz.order@1.0.0", "validator@1.0.0"],
    }
    health = await ga.call(None, method="GET", path="/_gateway/health")
    assert health.status == 200  # stays open


async def test_capabilities_are_not_found_when_clients_are_not_required(gw):
    r = await gw.call(None, method="GET", path="/_gateway/capabilities")
    await problem(r, 404, "not-found")


async def test_suggestions_name_only_services_within_the_grant(ga, upstream):
    for name in ("customer.order", "customer.orders"):
        assert (await ga.adm("POST", "/services", http_entry(name, upstream))).status == 201
    id, secret, _ = await make_client(ga, ["customer.orders", "validator"])
    auth = basic(id, secret)
    j = await problem(await ga.call("customer.ordr", {}, headers=auth), 404, "service-not-found")
    assert j["suggestions"] == ["customer.orders"]
    j = await problem(await ga.call("validatr", {}, headers=auth), 404, "service-not-found")
    assert j["suggestions"] == ["validator"]
    j = await problem(await ga.call("zzz", {}, headers=auth), 404, "service-not-found")
    assert "suggestions" not in j


async def test_routes_stay_open_to_basic_requests(ga):
    r = await ga.call(None, b"hi", path="/legacy/echo")
    assert r.status == 200


async def test_the_secret_appears_only_in_the_answer_that_made_it(ga, caplog):
    caplog.set_level(logging.DEBUG)
    id, secret, made = await make_client(
        ga,
        ["validator"],
        description="orders from the shop",
        source="https://shop.example.com/orders",
        sends=["application/json"],
    )
    assert made["source"] == "https://shop.example.com/orders"
    auth = basic(id, secret)
    await ga.call("validator", {"a": 1}, headers=auth)
    await ga.call("validator", {"a": 1}, headers=basic(id, secret + "x"))
    seen = [
        await (await ga.adm("GET", "/clients")).text(),
        await (await ga.adm("GET", f"/clients/{id}")).text(),
        await (await ga.adm("PUT", f"/clients/{id}", {"name": "n", "allow": ["*"]})).text(),
        await (await ga.adm("GET", "/audit")).text(),
        await (await ga.adm("GET", "/metrics")).text(),
        await (await ga.adm("GET", "/ui")).text(),
    ]
    for text in seen:
        assert secret not in text
    assert id in seen[0] and "orders from the shop" in seen[1]
    assert secret not in caplog.text and auth["Authorization"] not in caplog.text
    file = Path(ga.gateway.config.path(ga.gateway.config.repository.path))
    stored = b"".join(p.read_bytes() for p in file.parent.glob(file.name + "*"))
    assert secret.encode() not in stored and b"$argon2id$" in stored


@pytest.mark.parametrize(
    "body, field",
    [
        ({"allow": ["*"]}, "name"),
        ({"name": "x"}, "allow"),
        ({"name": "x", "allow": "validator"}, "allow"),
        ({"name": "x", "allow": ["has space"]}, "allow/0"),
        ({"name": "x", "allow": ["wsdl:"]}, "allow/0"),
        ({"name": "x", "allow": [], "source": "ftp://x"}, "source"),
        ({"name": "x", "allow": [], "sends": ["not a type"]}, "sends/0"),
        ({"name": "x", "allow": [], "secret": "mine"}, "secret"),
    ],
)
async def test_a_bad_client_is_422_naming_the_field(ga, body, field):
    j = await problem(await ga.adm("POST", "/clients", body), 422, "invalid-entry")
    assert j["errors"][0]["field"] == field, j


async def test_clients_survive_a_restart(start_gateway, tmp_path):
    first = await start_gateway(gateway=REQUIRED, work=tmp_path)
    id, secret, _ = await make_client(first, ["validator"])
    await first.gateway.stop()
    second = await start_gateway(gateway=REQUIRED, work=tmp_path)
    assert (await second.call("validator", {"a": 1}, headers=basic(id, secret))).status == 200
