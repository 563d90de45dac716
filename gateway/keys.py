"""What the gateway's aiohttp apps and their handlers share, by key: the running gateway
(on both listeners), the body limit the error middleware names, and what a request has
learnt about itself on the way (its application key, its cache result)."""

from __future__ import annotations

from aiohttp import web

from gateway.runtime import Gateway
from repository.clients import Client

GATEWAY = web.AppKey("gateway", Gateway)
MAX_BODY = web.AppKey("max_body", int)
KEY = web.RequestKey("igw_key", str)  # the application key, once computed
CACHE = web.RequestKey("igw_cache", str)  # hit, miss or shared, once known
CLIENT = web.RequestKey("igw_client", Client)  # the verified client (SPEC §9)
STAGES = web.RequestKey("igw_stages", tuple)  # the resolved stages' ids, once known


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY]
