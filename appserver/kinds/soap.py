"""The `soap` kind (SPEC §3): a stage that calls one operation of a WSDL.

The target is `{"wsdl", "service", "port", "operation", "connection"?, "ports"?}` (as
`repository.wsdl` imports them). Deploying gets the parsed WSDL from the gateway's
`WsdlCache` (`DeployEnv.shared`), parsing it in a worker thread on a miss, and fixes
everything about the request but its body; `soap_envelope` maps messages to envelopes,
`soap_answer` answers back to messages. zeep reads the WSDL and writes the body; the
stage posts the envelope itself with an aiohttp session (`outgoing`, as the http kind
does; faster than zeep's httpx-based AsyncTransport, see bench/soap_stage.py), so no call
ever blocks the event loop (a payload or an answer over `OFFLOAD_BYTES` is also mapped in
a worker thread).
Decisions where SPEC is silent:

- Reloading the WSDL of an entry (a cold cache: a restart, an evicted parse) follows
  the operator's rule (`DeployEnv.fetch`): any http(s) host, never a file.
  The entry is in the repository, so an operator or a permitted `wsdl:URL#Op` put it
  there. A document import's text must have been given back with
  `WsdlCache.remember` (the wiring does so from its import records at start).
- The connection's `headers` fill the SOAP header parts they name (by part name or
  element name: text, a JSON object, or XML); every other header, and its basic or
  bearer credentials, go as HTTP headers. `traceparent` and `X-Request-Id` are passed
  on.
- SOAP 1.1 sends `Content-Type: text/xml` and `SOAPAction`; SOAP 1.2 sends
  `application/soap+xml` with an `action` parameter.
- HTTP: redirects are not followed (/stage-failed); a 4xx without a fault is
  /stage-rejected, a 5xx or a broken connection /stage-failed; the answer is capped at
  `[gateway] max_body_bytes`. WS-Addressing and MTOM are not supported.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from zeep.xsd import AnySimpleType, Element

from appserver.connections import Connection
from appserver.kinds import soap_envelope
from appserver.kinds.base import DeployEnv
from appserver.kinds.outgoing import SESSION_BYTES, map_client_errors, read_answer, stage_session
from appserver.kinds.soap_answer import answer, local
from igwcore import mediatype
from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError, StageError
from repository.entry import ServiceEntry
from repository.fetch import WsdlUnavailable
from repository.wsdlcache import Wsdl, child_elements, wsdl_cache

# Bigger payloads and answers are mapped in a worker thread rather than on the loop.
OFFLOAD_BYTES = 64 * 1024
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}


def http_headers(
    soap_version: str, soapaction: str | None, connection_headers: Mapping[str, str]
) -> dict[str, str]:
    """The fixed HTTP headers of every request of one stage."""
    headers = dict(connection_headers)
    if soap_version == "1.1":
        headers["Content-Type"] = CONTENT_TYPES["1.1"]
        headers["SOAPAction"] = f'"{soapaction or ""}"'
    else:
        action = f'; action="{soapaction}"' if soapaction else ""
        headers["Content-Type"] = CONTENT_TYPES["1.2"] + action
    return headers


def operation_for(
    entry: ServiceEntry, wsdl: Wsdl, args: Mapping[str, Any], connection: Connection | None
) -> tuple[soap_envelope.Operation, str, dict[str, str]]:
    """(the operation's mapping, the address, the HTTP headers) of one stage."""
    target = entry.target
    try:
        port, op = wsdl.operation(target["service"], target["port"], target["operation"])
    except LookupError as e:
        raise StageError(f"{target['wsdl']}: {e.args[0]}") from e
    if not port.address:
        raise StageError(f"port {port.service}.{port.name} has no soap:address")
    if op.input is None:
        raise StageError(f"operation {target['operation']!r} has no input")
    given = dict(connection.headers) if connection is not None else {}
    used: set[str] = set()
    blocks = []
    envelope_ns = soap_envelope.ENVELOPE_NS[port.soap_version]
    for names, element in soap_envelope.header_elements(op.input.header):
        name = next((n for n in names if n in given), None)
        if name is None:
            continue
        try:
            blocks.append(soap_envelope.header_block(element, given[name], f"header {name}"))
        except soap_envelope.PayloadError as e:
            raise StageError(f"connection {target.get('connection')!r}: {e.reason}") from e
        used.add(name)
    outgoing = connection.outgoing_headers() if connection is not None else {}
    extra = {k: v for k, v in outgoing.items() if k not in used}
    operation = soap_envelope.Operation(
        body=op.input.body,
        # zeep keeps no public flag for a multi-part document body (rendered as soap:Body).
        body_wrapped=bool(op.input._is_body_wrapped),
        schema=wsdl.schema,
        settings=wsdl.document.settings,
        soap_version=port.soap_version,
        header=soap_envelope.header_bytes(blocks, envelope_ns),
        overrides=soap_envelope.overrides_for(entry.params, args),
    )
    return operation, port.address, http_headers(port.soap_version, op.soapaction, extra)


class SoapStage:
    fixed_size = True  # its session and one connection, counted once

    def __init__(
        self,
        entry: ServiceEntry,
        operation: soap_envelope.Operation,
        address: str,
        headers: Mapping[str, str],
        *,
        max_body_bytes: int,
        timeout_s: float,
        in_thread: Callable[..., Awaitable[Any]],
    ) -> None:
        self.entry = entry
        self._in_thread = in_thread  # the stage threads (DeployEnv.in_thread)
        self.operation = operation
        self.address = address
        self._headers = dict(headers)
        self._max_body_bytes = max_body_bytes
        self._session = stage_session(timeout_s)

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        if self._session.closed:
            raise StageError("the stage is closed")
        try:
            if len(message.body) > OFFLOAD_BYTES:
                content = await self._in_thread(soap_envelope.envelope, self.operation, message)
            else:
                content = soap_envelope.envelope(self.operation, message)
        except soap_envelope.PayloadError as e:
            raise StageError(e.reason, rejected=True) from e
        headers = {**self._headers, **request.propagated()}
        status, body = await self._post(content, headers)
        if len(body) > OFFLOAD_BYTES:
            given = await self._in_thread(answer, status, body)
        else:
            given = answer(status, body)  # a fault or an HTTP error raises, one-way or not
        if self.entry.output == mediatype.NONE:
            return Message(b"", mediatype.NONE)  # a one-way operation answers nothing
        return given

    async def _post(self, content: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        where = self.address
        with map_client_errors(where):
            async with self._session.post(
                where, data=content, headers=headers, allow_redirects=False
            ) as response:
                body = await read_answer(response, self._max_body_bytes, where)
        return response.status, body

    def size_bytes(self) -> int:
        own = sys.getsizeof(self) + len(self.operation.header) + len(self.address)
        return own + SESSION_BYTES

    async def close(self) -> None:
        await self._session.close()


class SoapKind:
    name: ClassVar[str] = "soap"
    target_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["wsdl", "service", "port", "operation"],
        "properties": {
            # An http(s) URL, or the urn of a document imported without a base URL.
            "wsdl": {
                "type": "string",
                "pattern": r"^([Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]+([/?#]\S*)?|urn:\S+)$",
            },
            "service": {"type": "string", "minLength": 1},
            "port": {"type": "string", "minLength": 1},
            "operation": {"type": "string", "minLength": 1},
            "ports": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "connection": {"type": "string", "minLength": 1},
        },
        "additionalProperties": False,
    }

    def check_target(self, target: Mapping[str, Any], env: DeployEnv) -> list[dict[str, str]]:
        return []  # the target schema says all there is to say

    def check_args(self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv) -> None:
        """Each argument must be a value of its element's XSD type (a `dateTime` that is
        not one, say). Checked when the WSDL's parse is at hand (always, for an
        imported or a fetched WSDL); otherwise the stage refuses the message (422) instead."""
        target = entry.target
        wsdl = wsdl_cache(env.shared).get(str(target.get("wsdl")))
        if wsdl is None:
            return
        try:
            _, op = wsdl.operation(target["service"], target["port"], target["operation"])
        except LookupError:
            return  # reported when the stage deploys
        body = op.input.body if op.input is not None else None
        if body is None:
            return
        elements = {
            local(e.qname): e
            for e in child_elements(body.type)
            if isinstance(e, Element) and e.qname is not None
        }
        for name, texts in soap_envelope.overrides_for(entry.params, args):
            element = elements.get(name)
            if element is None or not isinstance(element.type, AnySimpleType):
                continue
            for text in texts:
                try:
                    soap_envelope.simple_text(element.type, text, name)
                except soap_envelope.PayloadError as e:
                    parameter = next(
                        (p for p, s in entry.params.items() if s.get("wire_name", p) == name), name
                    )
                    raise ArgumentError(parameter, e.reason.removeprefix(f"{name}: ")) from e

    async def deploy(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> SoapStage:
        connection = env.connection(entry)
        url = str(entry.target["wsdl"])
        try:
            policy = env.contract_fetch if entry.target.get("fetched") else env.fetch
            wsdl = await wsdl_cache(env.shared).load(url, policy)
        except WsdlUnavailable as e:
            raise StageError(f"cannot load the WSDL {url}: {e.reason}") from e
        operation, address, headers = operation_for(entry, wsdl, args, connection)
        return SoapStage(
            entry,
            operation,
            address,
            headers,
            max_body_bytes=env.max_body_bytes,
            timeout_s=max(60.0, 2 * env.stage_timeout_s),
            in_thread=env.in_thread,
        )
