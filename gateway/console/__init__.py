"""The operators' console: HTML pages on the admin listener (issues #5, #14).

`GET /ui` shows the traffic of the last hour, the application list, the purge policy, the
services, the imports and the clients; `GET /` redirects there. The application list is
filtered, sorted and paged by its query (`?q=&sort=&order=&page=`, see `forms.View`), through
a GET form and links. The page's one script (`GET /ui/console.js`) refreshes it every 10 s
unless the operator pauses it; the traffic is sampled as often (`history.Sampler`, started
and stopped with the admin app).

Every action is a POST form with the CSRF token, answered 303 to a `GET /ui` that says what
happened: `POST /ui/applications/{key}/undeploy` undeploys on every worker (back to the
list's view as it was), `POST /ui/services/{id}/enable|disable` is the admin API's
`set_enabled`, `POST /ui/imports/{id}/refresh` reads an import's source again
(`gateway.imports.refresh`); a refusal is the page again with the reason (422, or the
problem's status). `POST /ui/policy` changes the purge policy
(a bad value: 422, the page again with each error next to its field and the values as
entered); `POST /ui/purge` purges with the policy. Both answer a success with 303 to a
`GET /ui` that shows the outcome (POST-redirect-GET), so a reload never posts twice.

The clients (SPEC §9): `POST /ui/clients` adds one. Its success is the one answer that is
not a redirect: the page itself (201), showing the new secret once, so that the secret is
never in a URL nor in the browser's history; a bad field is 422, as for the policy.
`POST /ui/clients/{id}/revoke` revokes one and answers 303 to `GET /ui?revoked=ID`. With
the audit on, the page shows its newest records.

This module is the routes and their handlers; `signin` signs in and checks the forms
against CSRF, `forms` reads the query and the forms, `pages` renders the HTML from the
views (`traffic_view` with `charts`, `applications_view`, `services_view`, `clients_view`).
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from yarl import URL

from gateway.console.clients_view import ClientForm
from gateway.console.enabling import set_enabled
from gateway.console.forms import application_key, client_data, policy_data, view_of
from gateway.console.history import History, Sampler
from gateway.console.pages import (
    CSRF,
    PAGE,
    SAMPLER,
    SCRIPT,
    html,
    not_found,
    redirect,
    render,
)
from gateway.console.script import SCRIPT as SCRIPT_TEXT
from gateway.console.signin import checked_form, is_console, sign_in, signed_in
from gateway.imports import refresh
from gateway.keys import GATEWAY, gateway_of
from igwcore.problems import InvalidEntry, NotFound, Problem

__all__ = ["add_routes", "is_console", "signed_in"]

log = logging.getLogger("integration_gateway.admin")


def add_routes(app: web.Application) -> None:
    app[CSRF] = secrets.token_urlsafe(32)
    app[SAMPLER] = Sampler(lambda: app[GATEWAY].metrics_text(), History())  # read when it runs
    app.on_startup.append(_start_sampling)
    app.on_cleanup.append(_stop_sampling)
    app.router.add_get("/", home)
    app.router.add_get(PAGE, page)
    app.router.add_get(SCRIPT, script)
    app.router.add_post(PAGE + "/applications/{key}/undeploy", post_undeploy)
    app.router.add_post(PAGE + "/services/{id}/enable", post_enable)
    app.router.add_post(PAGE + "/services/{id}/disable", post_disable)
    app.router.add_post(PAGE + "/imports/{id}/refresh", post_refresh)
    app.router.add_post(PAGE + "/policy", post_policy)
    app.router.add_post(PAGE + "/purge", post_purge)
    app.router.add_post(PAGE + "/clients", post_client)
    app.router.add_post(PAGE + "/clients/{id}/revoke", post_revoke)


async def _start_sampling(app: web.Application) -> None:
    app[SAMPLER].start()


async def _stop_sampling(app: web.Application) -> None:
    await app[SAMPLER].stop()


async def home(request: web.Request) -> web.Response:
    return redirect(str(URL(PAGE).with_query(request.query)), status=302)


async def page(request: web.Request) -> web.Response:
    if "token" in request.query:
        return sign_in(request)
    return html(await render(request))


async def script(request: web.Request) -> web.Response:
    return web.Response(
        text=SCRIPT_TEXT,
        content_type="text/javascript",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


async def post_undeploy(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    key = application_key(request.match_info["key"])
    if key is None or not await gateway_of(request).remove_applications([key]):
        return not_found("There is no such application deployed (was it purged already?).")
    log.info("application %s undeployed in the console", key)
    query = {**view_of(form).query(), "undeployed": key}
    return redirect(str(URL(PAGE).with_query(query).with_fragment("applications-title")))


async def post_enable(request: web.Request) -> web.Response:
    return await _switch(request, True)


async def post_disable(request: web.Request) -> web.Response:
    return await _switch(request, False)


async def _switch(request: web.Request, enabled: bool) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    sid = request.match_info["id"]
    try:
        await set_enabled(gateway_of(request), sid, enabled)
    except NotFound:
        return not_found(f"There is no service {sid}.")
    except InvalidEntry as e:
        return html(await render(request, refusal=e.detail), status=422)
    word = "enabled" if enabled else "disabled"
    return redirect(str(URL(PAGE).with_query({word: sid}).with_fragment("services-title")))


async def post_refresh(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    gw = gateway_of(request)
    iid = request.match_info["id"]
    try:
        changes = await refresh(gw, gw.repository.get_import(iid))
    except NotFound:
        return not_found(f"There is no import {iid}.")
    except Problem as p:  # the source unreachable or no longer importable: nothing changed
        reason = f"The import {iid} is unchanged: {p.detail}"
        return html(await render(request, refusal=reason), status=p.status)
    log.info("import %s refreshed in the console", iid)
    query = {"refreshed": iid, **{k: len(v) for k, v in changes.items()}}
    return redirect(str(URL(PAGE).with_query(query).with_fragment("imports-title")))


async def post_policy(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    gw = gateway_of(request)
    data, errors = policy_data(form)
    try:
        policy = gw.applications.policy.updated_from(data)
    except InvalidEntry as e:
        errors = [*errors, *e.members["errors"]]
    if errors:
        return html(await render(request, entered=form, errors=errors), status=422)
    await gw.set_policy(policy)
    return redirect(PAGE + "?policy=saved")


async def post_purge(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    gw = gateway_of(request)
    report = await gw.purge(gw.applications.policy, "request")
    query = {"purged": len(report.purged), "freed": report.freed_bytes}
    return redirect(str(URL(PAGE).with_query({**query, "remaining": report.remaining})))


async def post_client(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    gw = gateway_of(request)
    try:
        client, secret = await gw.clients.create(client_data(form))
    except InvalidEntry as e:
        refused = ClientForm(entered=form, errors=e.members["errors"])
        return html(await render(request, client_form=refused), status=422)
    await gw.clients_changed([client.id])
    log.info(
        "client %s (%s) made in the console, allowed %s", client.id, client.name, list(client.allow)
    )
    made = ClientForm(made=gw.clients.shown(client, secret))
    return html(await render(request, client_form=made), status=201)


async def post_revoke(request: web.Request) -> web.Response:
    form = await checked_form(request)
    if isinstance(form, web.Response):
        return form
    id = request.match_info["id"]
    gw = gateway_of(request)
    try:
        client = gw.clients.delete(id)
    except NotFound:
        return not_found(f"There is no client {id} (was it revoked already?).")
    await gw.clients_changed([client.id])
    log.info("client %s (%s) revoked in the console", client.id, client.name)
    return redirect(str(URL(PAGE).with_query(revoked=client.id)))
