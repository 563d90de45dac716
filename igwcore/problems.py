"""Every problem of SPEC §2, §6 and §10 as one exception class, plus the errors a stage
raises without knowing where in a pipe it stands.

Problem (an error a client or operator sees as RFC 9457 problem+json)
 ├─ 400 HeaderSyntax, DuplicateHeader, TooManyStages, TooManyArgs, BadRequest
 ├─ 401 InvalidCredentials
 ├─ 403 NotAllowed, CrossSite
 ├─ 404 ServiceNotFound, NoRoute, NotFound
 ├─ 405 MethodNotAllowed
 ├─ 408 RequestTimeout
 ├─ 409 AmbiguousService, Conflict
 ├─ 413 PayloadTooLarge
 ├─ 415 UnsupportedInput, UnsupportedMediaType
 ├─ 422 TypeMismatch, InvalidParameter, StageRejected, InvalidEntry
 ├─ 431 HeaderTooLarge
 ├─ 500 InternalError
 ├─ 502 StageFailed, UpstreamFailed
 ├─ 503 NoCapacity, RepositoryUnavailable
 └─ 504 StageTimeout, UpstreamTimeout
StageError      a stage's own failure; the app server makes it StageRejected or StageFailed
ArgumentError   an argument a service cannot use; made InvalidParameter the same way

A problem's extra members (SPEC §2's table) are typed attributes, declared on its class
as annotations, given to the constructor by keyword and written into the body in that
order; a member declared with a default is optional and left out of the body while it is
None. Rendering is the gateway's (one middleware): nothing here knows HTTP.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

__all__ = [
    "TYPE_BASE",
    "AmbiguousService",
    "ArgumentError",
    "BadRequest",
    "Conflict",
    "CrossSite",
    "DuplicateHeader",
    "HeaderSyntax",
    "HeaderTooLarge",
    "InternalError",
    "InvalidCredentials",
    "InvalidEntry",
    "InvalidParameter",
    "MethodNotAllowed",
    "NoCapacity",
    "NoRoute",
    "NotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "Problem",
    "RepositoryUnavailable",
    "RequestTimeout",
    "ServiceNotFound",
    "StageError",
    "StageFailed",
    "StageRejected",
    "StageTimeout",
    "TooManyArgs",
    "TooManyStages",
    "TypeMismatch",
    "UnsupportedInput",
    "UnsupportedMediaType",
    "UpstreamFailed",
    "UpstreamTimeout",
]

TYPE_BASE = "https://integration-gateway.dev/problems/"


class Problem(Exception):
    """An error a client or operator sees as RFC 9457 problem+json."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"
    # The extra members, in body order (from the annotations of the class and its bases).
    member_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [n for n in inspect.get_annotations(cls) if n not in cls.member_names]
        cls.member_names = (*cls.member_names, *own)

    def __init__(self, detail: str, **members: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        cls = type(self)
        unknown = members.keys() - set(cls.member_names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no member {sorted(unknown)[0]!r}")
        for name in cls.member_names:
            if name in members:
                setattr(self, name, members[name])
            elif not hasattr(cls, name):  # declared without a default: required
                raise TypeError(f"{cls.__name__} needs the member {name!r}")
        self.headers: dict[str, str] = {}  # response headers it asks for (WWW-Authenticate)

    @property
    def type(self) -> str:
        return TYPE_BASE + self.slug

    @property
    def members(self) -> dict[str, Any]:
        """The extra members that go into the body."""
        values = {name: getattr(self, name) for name in self.member_names}
        return {k: v for k, v in values.items() if v is not None or not hasattr(type(self), k)}

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.members,
        }


# -- 400 ------------------------------------------------------------------------------------


class HeaderSyntax(Problem):
    status, slug, title = 400, "syntax", "Integration-Config is not well-formed"
    position: int
    expected: str


class DuplicateHeader(Problem):
    status, slug, title = 400, "duplicate-header", "Integration-Config given more than once"


class TooManyStages(Problem):
    status, slug, title = 400, "too-many-stages", "Too many stages"
    limit: int


class TooManyArgs(Problem):
    status, slug, title = 400, "too-many-args", "Too many arguments in a stage"
    stage: int
    limit: int


class BadRequest(Problem):
    """A request the HTTP layer refused for a reason of its own (an addition to SPEC §2)."""

    status, slug, title = 400, "bad-request", "Bad request"


# -- 401, 403 -------------------------------------------------------------------------------


class InvalidCredentials(Problem):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


class NotAllowed(Problem):
    status, slug, title = 403, "not-allowed", "Services not allowed for this client"
    services: list[str]


class CrossSite(Problem):
    """A state-changing admin request from another site (SPEC §10.1)."""

    status, slug, title = 403, "cross-site", "Cross-site request refused"


# -- 404, 405, 408, 409 ---------------------------------------------------------------------


class ServiceNotFound(Problem):
    status, slug, title = 404, "service-not-found", "No service matches the descriptor"
    stage: int
    descriptor: str
    reason: str | None = None  # why a by-contract stage found nothing
    suggestions: list[str] | None = None  # names like the one not found (within a grant)


class NoRoute(Problem):
    status, slug, title = 404, "no-route", "No route matches the request"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(Problem):
    """An admin path asked with a method it does not answer (an addition to SPEC §2)."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class RequestTimeout(Problem):
    """A request head or body that did not arrive in time (SPEC §10.5)."""

    status, slug, title = 408, "request-timeout", "The request did not arrive in time"


class AmbiguousService(Problem):
    status, slug, title = 409, "ambiguous-service", "More than one service matches the descriptor"
    stage: int
    descriptor: str
    candidates: list[dict[str, Any]]


class Conflict(Problem):
    status, slug, title = 409, "conflict", "The id exists"


# -- 413, 415 -------------------------------------------------------------------------------


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Request body too large"
    limit: int


class UnsupportedInput(Problem):
    status, slug, title = 415, "unsupported-input", "The pipe does not accept this content type"
    stage: int
    accepts: list[str]


class UnsupportedMediaType(Problem):
    """An admin POST or PUT whose body is not `application/json` (SPEC §10.1)."""

    status, slug, title = 415, "unsupported-media-type", "The body must be application/json"


# -- 422 ------------------------------------------------------------------------------------


class TypeMismatch(Problem):
    status, slug, title = 422, "type-mismatch", "A stage cannot take its input"
    stage: int
    produces: str
    expects: list[str]


class InvalidParameter(Problem):
    status, slug, title = 422, "invalid-parameter", "Invalid parameter"
    stage: int
    parameter: str
    reason: str


class StageRejected(Problem):
    status, slug, title = 422, "stage-rejected", "A stage rejected the message"
    stage: int
    service: str
    reason: str


class InvalidEntry(Problem):
    status, slug, title = 422, "invalid-entry", "Invalid document"
    errors: list[dict[str, str]]  # [{"field", "reason"}]


# -- 431 ------------------------------------------------------------------------------------


class HeaderTooLarge(Problem):
    status, slug, title = 431, "header-too-large", "Integration-Config too large"
    limit: int


# -- 5xx ------------------------------------------------------------------------------------


class InternalError(Problem):
    """A fault of the gateway itself; the detail points at the log, never a stack trace."""

    status, slug, title = 500, "internal", "Internal error"


class StageFailed(Problem):
    status, slug, title = 502, "stage-failed", "A stage failed"
    stage: int
    service: str
    reason: str
    fault_code: str | None = None  # a SOAP fault's
    fault_string: str | None = None


class UpstreamFailed(Problem):
    """A basic request's route upstream did not answer (an addition to SPEC §2)."""

    status, slug, title = 502, "upstream-failed", "The route's upstream did not answer"
    upstream: str


class NoCapacity(Problem):
    status, slug, title = 503, "no-capacity", "App servers are full of busy applications"


class RepositoryUnavailable(Problem):
    """An admin write while a shared repository is out of reach (SPEC §6)."""

    status, slug, title = 503, "repository-unavailable", "The repository is out of reach"


class StageTimeout(Problem):
    status, slug, title = 504, "stage-timeout", "A stage took too long"
    stage: int
    service: str
    timeout_s: float


class UpstreamTimeout(Problem):
    """A route's upstream that did not answer within its `timeout_s` (SPEC §10.7)."""

    status, slug, title = 504, "upstream-timeout", "The route's upstream took too long"
    upstream: str


# -- raised by a stage, which does not know its index ----------------------------------------


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

    def __reduce__(self) -> Any:  # it crosses into and out of worker processes
        return _stage_error, (self.reason, self.rejected, self.extra)

    def problem(self, stage: int, service: str) -> StageRejected | StageFailed:
        """The problem this error is as stage `stage` (running `service`) of a pipe."""
        cls = StageRejected if self.rejected else StageFailed
        return cls(
            f"stage {stage} ({service}): {self.reason}",
            stage=stage,
            service=service,
            reason=self.reason,
            **self.extra,
        )


class ArgumentError(ValueError):
    """A descriptor argument that its schema allows but the service cannot use (a logger
    file outside its folder, a stylesheet that does not parse): 422 /invalid-parameter."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason

    def __reduce__(self) -> Any:
        return ArgumentError, (self.parameter, self.reason)

    def problem(self, stage: int, service: str) -> InvalidParameter:
        """The problem this error is as stage `stage` (running `service`) of a pipe."""
        return InvalidParameter(
            f"stage {stage} ({service}): argument {self.parameter!r} is invalid: {self.reason}",
            stage=stage,
            parameter=self.parameter,
            reason=self.reason,
        )


def _stage_error(reason: str, rejected: bool, extra: dict[str, Any]) -> StageError:
    return StageError(reason, rejected=rejected, **extra)
