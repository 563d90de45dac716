"""Integration Gateway's vocabulary (SPEC.md), for the gateway's own layers and for
service authors: what a stage receives and returns, the errors it raises, the problems a
client sees, media types, descriptors and the canonical form of a URL.

The ground floor: the standard library only, no I/O, no project imports. A `python`
service needs nothing else:

    from igwcore import Message, RequestContext, StageError

    def shout(message: Message, request: RequestContext) -> Message:
        if not message.body:
            raise StageError("nothing to shout", rejected=True)  # 422 /stage-rejected
        return Message(message.body.upper(), message.content_type)
"""

from igwcore import mediatype
from igwcore.descriptor import ByContract, ByIO, ByName, Descriptor, canonical
from igwcore.message import Message, RequestContext
from igwcore.problems import (
    AmbiguousService,
    ArgumentError,
    BadRequest,
    Conflict,
    CrossSite,
    DuplicateHeader,
    HeaderSyntax,
    HeaderTooLarge,
    InternalError,
    InvalidCredentials,
    InvalidEntry,
    InvalidParameter,
    MethodNotAllowed,
    NoCapacity,
    NoRoute,
    NotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    RepositoryUnavailable,
    RequestTimeout,
    ServiceNotFound,
    StageError,
    StageFailed,
    StageRejected,
    StageTimeout,
    TooManyArgs,
    TooManyStages,
    TypeMismatch,
    UnsupportedInput,
    UnsupportedMediaType,
    UpstreamFailed,
    UpstreamTimeout,
)
from igwcore.urls import canonical_url

__all__ = [
    "AmbiguousService",
    "ArgumentError",
    "BadRequest",
    "ByContract",
    "ByIO",
    "ByName",
    "Conflict",
    "CrossSite",
    "Descriptor",
    "DuplicateHeader",
    "HeaderSyntax",
    "HeaderTooLarge",
    "InternalError",
    "InvalidCredentials",
    "InvalidEntry",
    "InvalidParameter",
    "Message",
    "MethodNotAllowed",
    "NoCapacity",
    "NoRoute",
    "NotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "Problem",
    "RepositoryUnavailable",
    "RequestContext",
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
    "canonical",
    "canonical_url",
    "mediatype",
]
