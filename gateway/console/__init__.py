"""The operators' console: HTML pages on the admin listener (issue #5).

`GET /ui` shows the application list, the services and the purge policy; `GET /` redirects
there. The application list sorts by `?sort=last_used|hits|size&order=asc|desc`, through
links in its column headers: no script at all. `POST /ui/policy` changes the purge policy
(a bad value: 422, the page again with each error next to its field and the values as
entered); `POST /ui/purge` purges with the policy. Both answer a success with 303 to a
`GET /ui` that shows the outcome (POST-redirect-GET), so a reload never posts twice.

This module is the routes and their handlers; `signin` signs in and checks the forms
against CSRF, `forms` reads the query and the policy form, `pages` renders the HTML.
"""

from __future__ import annotations

import secrets

from aiohttp import web
from yarl import URL

from gateway.console.forms import policy_data
from gateway.console.pages import CSRF, PAGE, html, redirect, render
from gateway.console.signin import checked_form, is_console, sign_in, signed_in
from gateway.keys import gateway_of
from igwcore.problems import InvalidEntry

__all__ = ["add_routes", "is_console", "signed_in"]


def add_routes(app: web.Application) -> None:
    app[CSRF] = secrets.token_urlsafe(32)
    app.router.add_get("/", home)
    app.router.add_get(PAGE, page)
    app.router.add_post(PAGE + "/policy", post_policy)
    app.router.add_post(PAGE + "/purge", post_purge)


async def home(request: web.Request) -> web.Response:
    return redirect(str(URL(PAGE).with_query(request.query)), status=302)


async def page(request: web.Request) -> web.Response:
    if "token" in request.query:
        return sign_in(request)
    return html(render(request))


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
        return html(render(request, entered=form, errors=errors), status=422)
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
