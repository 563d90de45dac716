"""`/clients` and `/audit` of the admin API (SPEC §5, §9): scoped credentials, and the
record of the requests made with them.

A secret is in exactly two answers: the client's creation and `POST /clients/{id}/secret`.
Neither it nor its hash is ever logged.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from gateway.admin.routing import DONE, Route, Success, items, items_of, json_body, ref
from gateway.keys import gateway_of
from igwcore.problems import InvalidEntry, NotFound

log = logging.getLogger("integration_gateway.admin")

CLIENT = Success(200, "A client (never its secret)", ref("Client"))
WITH_SECRET = "A client and its secret: the only time the secret is shown"
AUDIT_LIMIT, AUDIT_MAX = 100, 1000


async def list_clients(request: web.Request) -> web.Response:
    return items([c.to_json() for c in gateway_of(request).clients])


async def add_client(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    client, secret = await gw.clients.create(await json_body(request))
    await gw.clients_changed([client.id])
    log.info("client %s (%s) made, allowed %s", client.id, client.name, list(client.allow))
    return web.json_response(gw.clients.shown(client, secret), status=201)


async def get_client(request: web.Request) -> web.Response:
    return web.json_response(gateway_of(request).clients.get(request.match_info["id"]).to_json())


async def replace_client(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    client = gw.clients.replace(request.match_info["id"], await json_body(request))
    await gw.clients_changed([client.id])
    log.info("client %s (%s) now allowed %s", client.id, client.name, list(client.allow))
    return web.json_response(client.to_json())


async def rotate_secret(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    client, secret = await gw.clients.rotate(request.match_info["id"])
    await gw.clients_changed([client.id])
    log.info("client %s has a new secret; the old one no longer works", client.id)
    return web.json_response(gw.clients.shown(client, secret))


async def delete_client(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    client = gw.clients.delete(request.match_info["id"])
    await gw.clients_changed([client.id])
    log.info("client %s (%s) revoked", client.id, client.name)
    return web.Response(status=204)


async def list_audit(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    if gw.audit is None:
        raise NotFound("the audit is off: [audit] enabled = false (or clients not required)")
    q = request.query
    errors = []
    since = None
    if q.get("since"):
        try:
            when = datetime.fromisoformat(q["since"])
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            errors.append({"field": "since", "reason": "an RFC 3339 time with its offset"})
        else:
            since = when.timestamp()
    limit = AUDIT_LIMIT
    if q.get("limit"):
        text = q["limit"]
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= AUDIT_MAX):
            errors.append({"field": "limit", "reason": f"a whole number from 1 to {AUDIT_MAX}"})
        else:
            limit = int(text)
    if errors:
        raise InvalidEntry(
            f"GET /audit: {errors[0]['field']}: {errors[0]['reason']}", errors=errors
        )
    records = await gw.audit.query(
        client=q.get("client") or None, key=q.get("key") or None, since=since, limit=limit
    )
    return items(records)


ROUTES = (
    Route(
        "GET",
        "/clients",
        list_clients,
        "List clients",
        (Success(200, "Clients", items_of("Client")),),
    ),
    Route(
        "POST",
        "/clients",
        add_client,
        "Make a client: its id and secret are generated (the secret shown this once)",
        (Success(201, WITH_SECRET, ref("ClientWithSecret")),),
        body="ClientRequest",
    ),
    Route("GET", "/clients/{id}", get_client, "Read one client", (CLIENT,)),
    Route(
        "PUT",
        "/clients/{id}",
        replace_client,
        "Change a client's name, grant and record (its secret stays)",
        (CLIENT,),
        body="ClientRequest",
    ),
    Route("DELETE", "/clients/{id}", delete_client, "Revoke a client at once", (DONE,)),
    Route(
        "POST",
        "/clients/{id}/secret",
        rotate_secret,
        "A new secret for a client (shown this once); the old one stops working",
        (Success(200, WITH_SECRET, ref("ClientWithSecret")),),
    ),
    Route(
        "GET",
        "/audit",
        list_audit,
        "Audit records, newest first (limit: default 100, at most 1000; since: RFC 3339)",
        (Success(200, "Audit records", items_of("AuditRecord")),),
        query=("client", "key", "since", "limit"),
    ),
)
