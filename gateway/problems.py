"""Every problem of SPEC §2 as one exception class; rendered as problem+json in one place."""

from __future__ import annotations

import re
from typing import Any, ClassVar

TYPE_BASE = "https://integration-gateway.dev/problems/"


class Problem(Exception):
    """An error a client or operator sees as RFC 9457 problem+json."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **members: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.members = members
        self.headers: dict[str, str] = {}

    @property
    def type(self) -> str:
        return TYPE_BASE + self.slug

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.members,
        }


class HeaderSyntax(Problem):
    status, slug, title = 400, "syntax", "Integration-Config is not well-formed"

    def __init__(self, detail: str, *, position: int, expected: str) -> None:
        super().__init__(detail, position=position, expected=expected)


class DuplicateHeader(Problem):
    status, slug, title = 400, "duplicate-header", "Integration-Config given more than once"


class TooManyStages(Problem):
    status, slug, title = 400, "too-many-stages", "Too many stages"

    def __init__(self, detail: str, *, limit: int) -> None:
        super().__init__(detail, limit=limit)


class TooManyArgs(Problem):
    status, slug, title = 400, "too-many-args", "Too many arguments in a stage"

    def __init__(self, detail: str, *, stage: int, limit: int) -> None:
        super().__init__(detail, stage=stage, limit=limit)


class InvalidCredentials(Problem):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


class NotAllowed(Problem):
    status, slug, title = 403, "not-allowed", "Services not allowed for this client"

    def __init__(self, detail: str, *, services: list[str]) -> None:
        super().__init__(detail, services=services)


class ServiceNotFound(Problem):
    status, slug, title = 404, "service-not-found", "No service matches the descriptor"

    def __init__(self, detail: str, *, stage: int, descriptor: str, **extra: Any) -> None:
        super().__init__(detail, stage=stage, descriptor=descriptor, **extra)


class NoRoute(Problem):
    status, slug, title = 404, "no-route", "No route matches the request"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class AmbiguousService(Problem):
    status, slug, title = 409, "ambiguous-service", "More than one service matches the descriptor"

    def __init__(
        self, detail: str, *, stage: int, descriptor: str, candidates: list[dict[str, Any]]
    ) -> None:
        super().__init__(detail, stage=stage, descriptor=descriptor, candidates=candidates)


class Conflict(Problem):
    status, slug, title = 409, "conflict", "The id exists"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Request body too large"

    def __init__(self, detail: str, *, limit: int) -> None:
        super().__init__(detail, limit=limit)


class UnsupportedInput(Problem):
    status, slug, title = 415, "unsupported-input", "The pipe does not accept this content type"

    def __init__(self, detail: str, *, stage: int, accepts: list[str]) -> None:
        super().__init__(detail, stage=stage, accepts=accepts)


class TypeMismatch(Problem):
    status, slug, title = 422, "type-mismatch", "A stage cannot take its input"

    def __init__(self, detail: str, *, stage: int, produces: str, expects: list[str]) -> None:
        super().__init__(detail, stage=stage, produces=produces, expects=expects)


class InvalidParameter(Problem):
    status, slug, title = 422, "invalid-parameter", "Invalid parameter"

    def __init__(self, detail: str, *, stage: int, parameter: str, reason: str) -> None:
        super().__init__(detail, stage=stage, parameter=parameter, reason=reason)


class StageRejected(Problem):
    status, slug, title = 422, "stage-rejected", "A stage rejected the message"

    def __init__(self, detail: str, *, stage: int, service: str, reason: str) -> None:
        super().__init__(detail, stage=stage, service=service, reason=reason)


class InvalidEntry(Problem):
    status, slug, title = 422, "invalid-entry", "Invalid document"

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, errors=errors)


def schema_error_field(error: Any) -> str:
    """The `field` of an `/invalid-entry` error for a jsonschema `ValidationError`: its path,
    plus the member that a `required` misses or an `additionalProperties` refuses."""
    path = [str(p) for p in error.absolute_path]
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [str(m) for m in error.validator_value if m not in instance]
        path.extend(missing[:1])
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [
            str(k)
            for k in instance
            if k not in known and not any(re.search(p, str(k)) for p in patterns)
        ]
        path.extend(extra[:1])
    return "/".join(path)


class HeaderTooLarge(Problem):
    status, slug, title = 431, "header-too-large", "Integration-Config too large"

    def __init__(self, detail: str, *, limit: int) -> None:
        super().__init__(detail, limit=limit)


class StageFailed(Problem):
    status, slug, title = 502, "stage-failed", "A stage failed"

    def __init__(self, detail: str, *, stage: int, service: str, reason: str, **extra: Any) -> None:
        super().__init__(detail, stage=stage, service=service, reason=reason, **extra)


class NoCapacity(Problem):
    status, slug, title = 503, "no-capacity", "App servers are full of busy applications"


class StageTimeout(Problem):
    status, slug, title = 504, "stage-timeout", "A stage took too long"

    def __init__(self, detail: str, *, stage: int, service: str, timeout_s: float) -> None:
        super().__init__(detail, stage=stage, service=service, timeout_s=timeout_s)


class StageError(Exception):
    """Raised by a stage's code; the app server adds the stage index and service id.

    `rejected=True` means the message was refused (422 /stage-rejected); otherwise the
    stage failed (502 /stage-failed). `extra` members (a SOAP fault's code) are kept.
    """

    def __init__(self, reason: str, *, rejected: bool = False, **extra: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rejected = rejected
        self.extra = extra


class UpstreamFailed(Problem):
    """A basic request's route upstream did not answer (an addition to SPEC §2's table)."""

    status, slug, title = 502, "upstream-failed", "The route's upstream did not answer"

    def __init__(self, detail: str, *, upstream: str) -> None:
        super().__init__(detail, upstream=upstream)


class MethodNotAllowed(Problem):
    """An admin path asked with a method it does not answer (an addition to SPEC §2)."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class InternalError(Problem):
    """A fault of the gateway itself; the detail points at the log, never a stack trace."""

    status, slug, title = 500, "internal", "Internal error"


class BadRequest(Problem):
    """A request the HTTP layer refused for a reason of its own."""

    status, slug, title = 400, "bad-request", "Bad request"
