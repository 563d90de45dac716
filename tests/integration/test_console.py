"""The operators' console on the admin listener: `/ui`, its forms, its clients and audit,
signing in with a token."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import pytest

from gateway.console import history
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


def synthetic(i: int) -> dict[str, Any]:
    """An application record as GET /applications gives one, without deploying it."""
    service = ("validator@1.0.0", "json_to_xml@1.0.0")[i % 2]
    return {
        "key": f"{i:032x}",
        "canonical": f'validator(schema="{{\\"title\\": \\"{i}\\"}}")',
        "endpoint": f"appserver://n/as0/{i:032x}",
        "app_server": "as0",
        "stages": [service],
        "hits": i,
        "in_flight": 0,
        "size_bytes": 4096 + i,
        "created": "2025-01-01T00:00:00.000000Z",
        "last_used": f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
    }


async def test_a_few_thousand_applications_are_filtered_sorted_and_paged(gw, monkeypatch):
    listed = [synthetic(i) for i in range(3000)]

    async def records() -> list[dict[str, Any]]:
        return listed

    monkeypatch.setattr(gw.gateway, "application_records", records)
    page = await (await get(gw, "/ui?sort=hits&order=desc")).text()
    assert len(KEY.findall(page)) == 50 and "Applications (3,000)" in page
    assert KEY.findall(page)[0] == f"{2999:032x}" and 'id="page-of">page 1 of 60<' in page
    assert 'href="/ui?sort=hits&amp;order=desc&amp;page=2#applications-title"' in page

    page = await (await get(gw, "/ui?sort=hits&order=desc&page=60")).text()
    assert KEY.findall(page)[-1] == f"{0:032x}" and "showing 2,951–3,000 of 3,000" in page
    page = await (await get(gw, "/ui?q=JSON_to_xml&sort=hits&order=asc&page=2")).text()
    assert KEY.findall(page)[0] == f"{101:032x}" and "of 1,500 matching" in page
    assert 'href="/ui?sort=hits&amp;order=asc&amp;q=JSON_to_xml&amp;page=3' in page
    assert 'name="q" value="JSON_to_xml"' in page
    page = await (await get(gw, f"/ui?q={2992:032x}")).text()
    assert KEY.findall(page) == [f"{2992:032x}"]


async def test_a_long_header_is_shown_whole_only_on_hover(gw):
    header = 'validator(schema="{\\"description\\": \\"' + "a long text " * 40 + '\\"}")'
    assert (await gw.call(header, {})).status == 200
    page = await (await get(gw, "/ui")).text()
    assert 'class="canonical"><code title="validator(schema=' in page
    assert "Endpoint" not in page  # on hover of the app server, not a column


async def test_undeploy_removes_the_application_and_keeps_the_view(gw):
    key = (await gw.call("validator", {})).headers["Integration-App"]
    path = f"/ui/applications/{key}/undeploy"
    page = await (await get(gw, "/ui?q=valid&sort=hits&order=asc")).text()
    assert f'action="{path}"' in page and '<input type="hidden" name="q" value="valid">' in page
    assert (await post(gw, path, {"q": "valid"})).status == 403
    r = await post(gw, path, {"csrf": await csrf(gw)}, headers={"Origin": "http://evil.example"})
    assert r.status == 403 and len(await records(gw)) == 1

    form = {"csrf": await csrf(gw), "q": "valid", "sort": "hits", "order": "asc", "page": "1"}
    r = await post(gw, path, form)
    assert r.status == 303, await r.text()
    assert r.headers["Location"] == (
        f"/ui?sort=hits&order=asc&q=valid&undeployed={key}#applications-title"
    )
    assert await records(gw) == []
    page = await (await get(gw, r.headers["Location"].partition("#")[0])).text()
    assert f'id="undeployed">Application <code>{key}</code> is undeployed' in page
    assert (await post(gw, path, {"csrf": await csrf(gw)})).status == 404


async def test_a_service_is_disabled_and_enabled_by_its_buttons(gw):
    sid = "json_to_xml@1.0.0"
    assert (await gw.call("JSON -> XML", {"a": 1})).status == 200
    page = await (await get(gw, "/ui")).text()
    assert 'action="/ui/services/json_to_xml%401.0.0/disable"' in page
    assert f'id="disable-{sid}"' in page
    assert (await post(gw, f"/ui/services/{sid}/disable", {})).status == 403

    r = await post(gw, f"/ui/services/{sid}/disable", {"csrf": await csrf(gw)})
    assert r.status == 303 and r.headers["Location"] == f"/ui?disabled={sid}#services-title"
    entry = await (await gw.adm("GET", f"/services/{sid}")).json()
    assert entry["enabled"] is False and await records(gw) == []  # its application undeployed
    page = await (await get(gw, f"/ui?disabled={sid}")).text()
    assert 'id="service-disabled"' in page and f'id="enable-{sid}"' in page

    r = await post(gw, f"/ui/services/{sid}/enable", {"csrf": await csrf(gw)})
    assert r.status == 303 and r.headers["Location"] == f"/ui?enabled={sid}#services-title"
    assert (await (await gw.adm("GET", f"/services/{sid}")).json())["enabled"] is True
    assert (await gw.call("JSON -> XML", {"a": 1})).status == 200
    r = await post(gw, "/ui/services/nothing@1.0.0/enable", {"csrf": await csrf(gw)})
    assert r.status == 404


async def test_a_held_service_cannot_be_enabled_and_says_why(gw):
    sid = "xslt@1.0.0"
    await gw.adm("POST", f"/services/{sid}/disable")
    gw.gateway.held[sid] = "module not allowed by [services] python_modules"
    page = await (await get(gw, "/ui")).text()
    assert f'id="enable-{sid}"' not in page and "module not allowed by" in page
    r = await post(gw, f"/ui/services/{sid}/enable", {"csrf": await csrf(gw)})
    page = await r.text()
    assert r.status == 422 and 'id="refused"' in page and f"{sid} cannot be enabled" in page
    assert 'id="refresh"' not in page  # a refusal's page never reloads itself
    assert (await (await gw.adm("GET", f"/services/{sid}")).json())["enabled"] is False


async def test_a_description_shows_its_backticks_as_code(gw):
    page = await (await get(gw, "/ui")).text()
    assert "with <code>schema</code> (a JSON Schema" in page and "`" not in page.split("<main>")[1]


SHOP = """\
openapi: 3.0.0
info: {title: shop, version: '1'}
servers: [{url: 'http://127.0.0.1:9'}]
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      description: One `order`
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
"""


async def test_an_import_is_listed_and_refreshed_by_its_button(gw):
    r = await gw.adm("POST", "/imports", {"kind": "openapi", "document": SHOP, "prefix": "shop"})
    assert r.status == 201, await r.text()
    iid = (await r.json())["id"]
    page = await (await get(gw, "/ui")).text()
    assert f'<tr data-import="{iid}">' in page and "Imports (1)" in page
    assert f'action="/ui/imports/{iid}/refresh"' in page and "One <code>order</code>" in page
    assert (await post(gw, f"/ui/imports/{iid}/refresh", {})).status == 403

    r = await post(gw, f"/ui/imports/{iid}/refresh", {"csrf": await csrf(gw)})
    assert r.status == 303
    location = r.headers["Location"]
    assert location == f"/ui?refreshed={iid}&added=0&changed=0&removed=0#imports-title"
    page = await (await get(gw, location.partition("#")[0])).text()
    assert 'id="import-refreshed"' in page and "0 services added, 0 changed" in page
    r = await post(gw, "/ui/imports/nothing/refresh", {"csrf": await csrf(gw)})
    assert r.status == 404


async def test_without_the_repository_the_page_shows_what_memory_holds(gw):
    key = (await gw.call("validator", {})).headers["Integration-App"]
    token = await csrf(gw)
    gw.gateway.repository_state = "disconnected"
    r = await get(gw, "/ui")
    page = await r.text()
    assert r.status == 200 and KEY.findall(page) == [key]
    assert 'id="services-unreachable"' in page and 'id="imports-unreachable"' in page
    assert "repository out of reach" in page and 'id="traffic"' in page
    assert (await get(gw, "/ui/console.js")).status == 200
    await problem(
        await post(gw, "/ui/policy", await policy_form(gw)), 503, "repository-unavailable"
    )
    sid = "json_to_xml@1.0.0"
    r = await post(gw, f"/ui/services/{sid}/disable", {"csrf": token})
    await problem(r, 503, "repository-unavailable")
    r = await post(gw, f"/ui/applications/{key}/undeploy", {"csrf": token})
    assert r.status == 303 and await records(gw) == []
    assert (await post(gw, "/ui/purge", {"csrf": token})).status == 303


async def test_the_one_script_is_the_consoles_own_file(gw):
    page = await (await get(gw, "/ui")).text()
    assert page.count("<script") == 1 and '<script src="/ui/console.js" defer></script>' in page
    assert 'id="refresh" data-seconds="10" hidden' in page
    r = await get(gw, "/ui/console.js")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "location.reload()" in await r.text()
    made = await (await post(gw, "/ui/clients", await client_form(gw))).text()
    assert 'id="made"' in made and 'id="refresh"' not in made  # the secret's page stays


async def test_the_traffic_is_sampled_while_the_admin_listener_runs(start_gateway, monkeypatch):
    monkeypatch.setattr(history, "INTERVAL_S", 0.05)
    gw = await start_gateway()
    for _ in range(3):
        for header in ("validator", "validator", "no_such_service"):
            await gw.call(header, {})
        await asyncio.sleep(0.1)
    page = await (await get(gw, "/ui")).text()
    requests = page.split('id="chart-requests"')[1].split("</section>")[0]
    assert '<polyline class="line s0"' in requests and "collecting" not in requests
    problems = page.split('id="chart-problems"')[1].split("</section>")[0]
    assert "service-not-found" in problems
