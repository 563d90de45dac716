"""The operators' console: HTML pages on the admin listener (issue #5).

`GET /ui` shows the application list, the services and the purge policy; `GET /` redirects
there. The application list sorts by `?sort=last_used|hits|size&order=asc|desc`, through
links in its column headers: no script at all. `POST /ui/policy` changes the purge policy
(a bad value: 422, the page again with each error next to its field and the values as
entered); `POST /ui/purge` purges with the policy. Both answer a success with 303 to a
`GET /ui` that shows the outcome (POST-redirect-GET), so a reload never posts twice.

The clients (SPEC §9): `POST /ui/clients` adds one. Its success is the one answer that is
not a redirect: the page itself (201), showing the new secret once, so that the secret is
never in a URL nor in the browser's history; a bad field is 422, as for the policy.
`POST /ui/clients/{id}/revoke` revokes one and answers 303 to `GET /ui?revoked=ID`. With
the audit on, the page shows its newest records.

This module is the routes and their handlers; `signin` signs in and checks the forms
against CSRF, `forms` reads the query and the forms, `pages` renders the HTML and
`clients_view` its clients and audit.
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from yarl import URL

from gateway.console.clients_view import ClientForm
from gateway.console.forms import client_data, policy_data
from gateway.console.pages import CSRF, PAGE, html, not_found, redirect, render
from gateway.console.signin import checked_form, is_console, sign_in, signed_in
from gateway.keys import gateway_of
from igwcore.problems import InvalidEntry, NotFound

__all__ = ["add_routes", "is_console", "signed_in"]

log = logging.getLogger("integration_gateway.admin")


def add_routes(app: web.Application) -> None:
    app[CSRF] = secrets.token_urlsafe(32)
    app.router.add_get("/", home)
    app.router.add_get(PAGE, page)
    app.router.add_post(PAGE + "/policy", post_policy)
    app.router.add_post(PAGE + "/purge", post_purge)
    app.router.add_post(PAGE + "/clients", post_client)
    app.router.add_post(PAGE + "/clients/{id}/revoke", post_revoke)


async def home(request: web.Request) -> web.Response:
    return redirect(str(URL(PAGE).with_query(request.query)), status=302)


async def page(request: web.Request) -> web.Response:
    if "token" in request.query:
        return sign_in(request)
    return html(await render(request))


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
