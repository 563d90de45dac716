"""The operators' console on the admin listener: `/ui`, its forms, its clients and audit,
signing in with a token."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from igwcore.problems import InvalidCredentials
from tests.conftest import Answer, Running, answer, problem

HEADERS = ("validator", 'validator(schema="{}")', 'validator(schema="{\\"type\\": \\"object\\"}")')
KEY = re.compile(r'<tr data-key="([0-9a-f]{32})"')


async def get(gw: Running, path: str, headers: dict[str, str] | None = None) -> Answer:
    async with gw.http.get(gw.admin + path, headers=headers, allow_redirects=False) as r:
        return await answer(r)


async def post(
    gw: Running, path: str, form: dict[str, str], headers: dict[str, str] | None = None
) -> Answer:
    async with gw.http.post(
        gw.admin + path, data=form, headers=headers, allow_redirects=False
    ) as r:
        return await answer(r)


async def csrf(gw: Running, headers: dict[str, str] | None = None) -> str:
    page = await (await get(gw, "/ui", headers)).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def policy_form(gw: Running, **changes: str) -> dict[str, str]:
    form = {
        "csrf": await csrf(gw),
        "interval_s": "3600",
        "cron": "",
        "max_idle_s": "600",
        "max_apps": "1000",
        "max_bytes": "268435456",
        "on_deploy": "on",
    }
    return {**form, **changes}


async def records(gw: Running) -> list[dict[str, Any]]:
    return (await (await gw.adm("GET", "/applications")).json())["items"]


async def test_root_redirects_to_the_console(gw):
    r = await get(gw, "/")
    assert r.status == 302 and r.headers["Location"] == "/ui"


async def test_page_lists_applications_services_and_the_policy(gw):
    key = (await gw.call("validator", {})).headers["Integration-App"]
    r = await get(gw, "/ui")
    page = await r.text()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp and "<script>" not in page
    assert r.headers["X-Frame-Options"] == "DENY"
    assert KEY.findall(page) == [key]
    assert f"appserver://{gw.gateway.config.gateway.node}/as0/{key}" in page
    assert "<code>validator@1.0.0</code>" in page
    assert '<tr data-id="json_to_xml@1.0.0">' in page
    assert 'name="max_idle_s" value="600"' in page and 'name="on_deploy" checked' in page


async def test_sorting_by_hits_size_and_last_used_orders_rows(gw):
    a, b, c = HEADERS
    keys = {}
    for header in (a, a, a, c, c, b):  # hits: a 2, c 1, b 0; last used: a, c, b
        r = await gw.call(header, {})
        assert r.status == 200
        keys[header] = r.headers["Integration-App"]
    ka, kb, kc = (keys[h] for h in (a, b, c))
    apps = await records(gw)
    by_size = [r["key"] for r in sorted(apps, key=lambda r: r["size_bytes"])]
    assert len({r["size_bytes"] for r in apps}) == 3, "the sizes should differ"

    async def rows(query: str) -> list[str]:
        return KEY.findall(await (await get(gw, "/ui" + query)).text())

    assert await rows("") == [kb, kc, ka]  # most recently used first
    assert await rows("?sort=last_used&order=asc") == [ka, kc, kb]
    assert await rows("?sort=hits&order=desc") == [ka, kc, kb]
    assert await rows("?sort=hits&order=asc") == [kb, kc, ka]
    assert await rows("?sort=size&order=asc") == by_size
    assert await rows("?sort=size&order=desc") == by_size[::-1]
    assert await rows("?sort=nonsense&order=sideways") == [kb, kc, ka]


async def test_sorted_column_header_links_to_the_other_order(gw):
    page = await (await get(gw, "/ui?sort=hits&order=desc")).text()
    assert 'href="/ui?sort=hits&amp;order=asc#applications-title"' in page
    assert 'href="/ui?sort=size&amp;order=desc#applications-title"' in page
    assert 'aria-sort="descending"' in page


async def test_policy_form_changes_the_policy(gw):
    form = await policy_form(gw, max_idle_s="42.5", cron="*/5 * * * *", max_apps="7")
    del form["on_deploy"]
    r = await post(gw, "/ui/policy", form)
    assert r.status == 303 and r.headers["Location"] == "/ui?policy=saved"
    policy = await (await gw.adm("GET", "/purge/policy")).json()
    assert policy == {
        "interval_s": 3600,
        "cron": "*/5 * * * *",
        "max_idle_s": 42.5,
        "max_apps": 7,
        "max_bytes": 268435456,
        "on_deploy": False,
    }
    page = await (await get(gw, "/ui?policy=saved")).text()
    assert 'id="saved"' in page and 'name="max_idle_s" value="42.5"' in page
    assert 'name="on_deploy">' in page  # unchecked


async def test_invalid_cron_is_422_naming_the_field_and_keeping_the_values(gw):
    form = await policy_form(gw, cron="every tuesday", max_idle_s="42")
    r = await post(gw, "/ui/policy", form)
    page = await r.text()
    assert r.status == 422 and r.headers["Content-Type"].startswith("text/html")
    assert "<li><b>cron</b>: not a cron expression" in page
    assert 'value="every tuesday" aria-invalid="true"' in page
    assert 'name="max_idle_s" value="42"' in page
    policy = await (await gw.adm("GET", "/purge/policy")).json()
    assert policy["cron"] == "" and policy["max_idle_s"] == 600


async def test_every_bad_field_is_named(gw):
    form = await policy_form(gw, max_apps="many", max_idle_s="-1", interval_s="inf")
    page = await (await post(gw, "/ui/policy", form)).text()
    assert "<b>max_apps</b>: &#x27;many&#x27; is not a whole number" in page
    assert "<b>interval_s</b>: &#x27;inf&#x27; is not a finite number" in page
    assert "<b>max_idle_s</b>: -1 is less than the minimum of 0" in page


async def test_purge_now_removes_the_application_and_reports(gw):
    await gw.adm("PUT", "/purge/policy", {"max_idle_s": 0})
    await gw.call("validator", {})
    [record] = await records(gw)
    r = await post(gw, "/ui/purge", {"csrf": await csrf(gw)})
    assert r.status == 303
    freed = record["size_bytes"]
    assert r.headers["Location"] == f"/ui?purged=1&freed={freed}&remaining=0"
    assert await records(gw) == []
    page = await (await get(gw, r.headers["Location"])).text()
    assert f"purged <b>1</b> application, freed <b>{freed} bytes</b>" in page
    assert "<b>0</b> remaining" in page
    assert KEY.findall(page) == [] and "No applications." in page


async def test_a_clients_header_is_escaped(gw):
    header = 'validator(schema="{\\"title\\": \\"<script>alert(1)</script>\\"}")'
    r = await gw.call(header, {})
    assert r.status == 200, await r.text()
    page = await (await get(gw, "/ui")).text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "validator(schema=&quot;{\\&quot;title\\&quot;" in page


async def test_a_post_without_the_csrf_field_or_from_another_site_is_refused(gw):
    await gw.call("validator", {})
    r = await post(gw, "/ui/purge", {})
    assert r.status == 403 and "out of date" in await r.text()
    r = await post(gw, "/ui/purge", {"csrf": "guess"})
    assert r.status == 403
    form = {"csrf": await csrf(gw)}
    r = await post(gw, "/ui/purge", form, headers={"Origin": "http://evil.example"})
    assert r.status == 403 and "another site" in await r.text()
    r = await post(gw, "/ui/policy", await policy_form(gw, csrf="guess", max_idle_s="0"))
    assert r.status == 403
    assert len(await records(gw)) == 1
    assert (await (await gw.adm("GET", "/purge/policy")).json())["max_idle_s"] == 600


async def test_with_a_token_the_console_signs_in_once_by_cookie(start_gateway, monkeypatch):
    monkeypatch.setenv("IGW_ADMIN_TOKEN", "s3cret")
    gw = await start_gateway()
    await problem(await get(gw, "/ui"), 401, "invalid-credentials")
    await problem(await get(gw, "/ui?token=wrong"), 401, "invalid-credentials")

    r = await get(gw, "/ui?sort=hits&token=s3cret")
    assert r.status == 303 and r.headers["Location"] == "/ui?sort=hits"
    set_cookie = r.headers["Set-Cookie"]
    assert set_cookie.startswith("igw_console=") and "s3cret" not in set_cookie
    assert {"HttpOnly", "Path=/", "SameSite=Strict"} <= {
        part.strip() for part in set_cookie.split(";")
    }
    cookie = {"Cookie": set_cookie.split(";")[0]}
    gw.http.cookie_jar.clear()

    assert (await get(gw, "/ui", cookie)).status == 200
    assert (await get(gw, "/", cookie)).status == 302
    await problem(await get(gw, "/applications", cookie), 401, "invalid-credentials")
    r = await post(gw, "/ui/purge", {"csrf": await csrf(gw, cookie)}, cookie)
    assert r.status == 303
    r = await post(gw, "/ui/purge?token=s3cret", {"csrf": await csrf(gw, cookie)})
    await problem(r, 401, "invalid-credentials")
    r = await get(gw, "/ui", {"Cookie": "igw_console=s3cret"})
    await problem(r, 401, "invalid-credentials")
    assert (await get(gw, "/ui", {"Authorization": "Bearer s3cret"})).status == 200


MADE = re.compile(r'<code id="made-id">([^<]+)</code>.*<code id="made-secret">([^<]+)</code>', re.S)


async def client_form(gw: Running, **fields: str) -> dict[str, str]:
    return {"csrf": await csrf(gw), "name": "billing", "allow": "validator", **fields}


async def clients(gw: Running) -> list[dict[str, Any]]:
    return (await (await gw.adm("GET", "/clients")).json())["items"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_adding_a_client_shows_its_secret_in_that_answer_only(gw):
    form = await client_form(
        gw,
        allow="validator, json_to_*\r\n  customer.cz.*\r\n",
        description="nightly <export>",
        source="https://billing.example.com/out",
        sends="application/json, text/csv; charset=utf-8",
    )
    r = await post(gw, "/ui/clients", form)
    page = await r.text()
    assert r.status == 201 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-store" and "Location" not in r.headers
    client_id, secret = MADE.search(page).groups()
    assert "it is not shown again" in page and 'id="made"' in page
    assert await gw.gateway.clients.authenticate(basic(client_id, secret)["Authorization"])
    [made] = await clients(gw)
    assert made["id"] == client_id and "secret" not in made
    assert made["allow"] == ["validator", "json_to_*", "customer.cz.*"]
    assert made["sends"] == ["application/json", "text/csv; charset=utf-8"]
    assert made["description"] == "nightly <export>"
    assert made["source"] == "https://billing.example.com/out"
    assert 'name="name" value=""' in page  # the form is empty again, not the client's

    later = await (await get(gw, "/ui")).text()
    assert secret not in later and 'id="made"' not in later
    assert f'<tr data-client="{client_id}">' in later
    assert "<td>nightly &lt;export&gt;</td>" in later
    assert "<code>json_to_*</code>, <code>customer.cz.*</code>" in later


async def test_an_invalid_client_is_422_with_the_errors_next_to_the_fields(gw):
    form = await client_form(gw, name="  ", allow="ok\nbad\x7fpattern", source="ftp://files")
    r = await post(gw, "/ui/clients", form)
    page = await r.text()
    assert r.status == 422 and r.headers["Content-Type"].startswith("text/html")
    assert 'id="client-errors"' in page and 'id="made"' not in page
    assert "<li><b>name</b>:" in page and "<li><b>allow/1</b>:" in page
    assert 'id="client-name" name="name" aria-invalid="true" value="  "' in page
    assert 'id="client-allow" name="allow" aria-invalid="true"' in page
    assert 'name="source" value="ftp://files"' in page
    assert await clients(gw) == []
    r = await post(gw, "/ui/clients", await client_form(gw, source="ftp://files"))
    page = await r.text()
    assert r.status == 422 and "<li><b>source</b>: an http or https URL, or empty" in page
    assert '<span class="help bad">an http or https URL, or empty</span>' in page


async def test_revoking_a_client_needs_the_csrf_token_and_removes_it(gw):
    made = await (await gw.adm("POST", "/clients", {"name": "old", "allow": ["*"]})).json()
    path = f"/ui/clients/{made['id']}/revoke"
    page = await (await get(gw, "/ui")).text()
    assert f'action="{path}"' in page and made["secret"] not in page

    r = await post(gw, path, {})
    assert r.status == 403 and "out of date" in await r.text()
    r = await post(gw, path, {"csrf": "guess"})
    assert r.status == 403
    assert [c["id"] for c in await clients(gw)] == [made["id"]]

    r = await post(gw, path, {"csrf": await csrf(gw)})
    assert r.status == 303 and r.headers["Location"] == f"/ui?revoked={made['id']}"
    assert await clients(gw) == []
    page = await (await get(gw, r.headers["Location"])).text()
    assert 'id="revoked"' in page and "data-client=" not in page and "No clients." in page
    with_secret = basic(made["id"], made["secret"])["Authorization"]
    with pytest.raises(InvalidCredentials):
        await gw.gateway.clients.authenticate(with_secret)

    r = await post(gw, path, {"csrf": await csrf(gw)})
    assert r.status == 404 and "revoked already" in await r.text()


async def test_a_cross_site_client_form_is_refused(gw):
    made = await (await gw.adm("POST", "/clients", {"name": "kept", "allow": ["*"]})).json()
    evil = {"Origin": "http://evil.example"}
    r = await post(gw, "/ui/clients", await client_form(gw), headers=evil)
    assert r.status == 403 and "another site" in await r.text()
    r = await post(gw, f"/ui/clients/{made['id']}/revoke", {"csrf": await csrf(gw)}, evil)
    assert r.status == 403
    r = await post(gw, "/ui/clients", {"name": "billing", "allow": "*"})
    assert r.status == 403 and "out of date" in await r.text()
    assert [c["id"] for c in await clients(gw)] == [made["id"]]


async def test_a_revoked_notice_needs_a_revoked_client(gw):
    made = await (await gw.adm("POST", "/clients", {"name": "here", "allow": ["*"]})).json()
    for query in (f"?revoked={made['id']}", "?revoked=<b>x</b>", "?revoked=x%0A"):
        assert 'id="revoked"' not in await (await get(gw, "/ui" + query)).text(), query


async def test_a_clients_text_is_escaped(gw):
    body = {"name": "<script>alert(1)</script>", "allow": ["*"], "description": '"><img>'}
    await gw.adm("POST", "/clients", body)
    page = await (await get(gw, "/ui")).text()
    assert "<script>" not in page and "<img>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot;&gt;&lt;img&gt;" in page


async def test_without_the_audit_there_is_no_audit_section(gw):
    page = await (await get(gw, "/ui")).text()
    assert 'id="audit"' not in page and "Clients are not required now" in page


async def test_with_clients_required_the_page_shows_the_newest_audit_records(start_gateway):
    gw = await start_gateway(gateway={"require_client_auth": True})
    page = await (await post(gw, "/ui/clients", await client_form(gw))).text()
    client_id, secret = MADE.search(page).groups()
    assert (await gw.call("validator", {}, headers=basic(client_id, secret))).status == 200
    assert (await gw.call("logger", {}, headers=basic(client_id, secret))).status == 403
    assert (await gw.call("validator", {})).status == 401

    page = await (await get(gw, "/ui")).text()
    assert "Integration requests must carry a client" in page
    assert 'id="audit"' in page and "Audit (3 newest)" in page
    rows = re.findall(r"<tr><td><time.*?</tr>", page.split('id="audit"')[1])
    assert [re.search(r'class="num">(\d+)<', row).group(1) for row in rows] == [
        "401",
        "403",
        "200",
    ]
    assert f"<code>{client_id}</code>" in rows[1] and "<code>validator@1.0.0</code>" in rows[2]
    assert secret not in page
