"""The ground package's public surface for service authors, pinned; and the ground's rule:
the standard library only."""

from __future__ import annotations

import ast
import sys
import types
import typing
from pathlib import Path

import igwcore

PINNED = [
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


def test_the_public_surface_is_pinned() -> None:
    assert igwcore.__all__ == PINNED


def test_every_public_name_is_exported() -> None:
    public = {
        name
        for name, value in vars(igwcore).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"mediatype"} == set(igwcore.__all__)


def test_every_exported_member_comes_from_the_ground() -> None:
    for name in igwcore.__all__:
        member = getattr(igwcore, name)
        # A union (`Descriptor`) is made of members that must each come from the ground.
        for part in typing.get_args(member) or (member,):
            home = part.__name__ if isinstance(part, types.ModuleType) else part.__module__
            assert home.startswith("igwcore"), (name, home)


def test_every_problem_of_spec_is_exported_with_its_type() -> None:
    problems = {
        getattr(igwcore, n)
        for n in igwcore.__all__
        if isinstance(getattr(igwcore, n), type)
        and issubclass(getattr(igwcore, n), igwcore.Problem)
    }
    slugs = {p.slug for p in problems if p is not igwcore.Problem}
    # SPEC §2's table, §6 and §10, and the gateway's own additions (README).
    assert slugs == {
        "syntax", "duplicate-header", "too-many-stages", "too-many-args", "invalid-credentials",
        "not-allowed", "service-not-found", "no-route", "not-found", "ambiguous-service",
        "conflict", "payload-too-large", "unsupported-input", "type-mismatch",
        "invalid-parameter", "stage-rejected", "invalid-entry", "header-too-large",
        "stage-failed", "no-capacity", "stage-timeout", "repository-unavailable",
        "cross-site", "request-timeout", "unsupported-media-type", "upstream-timeout",
        "upstream-failed", "method-not-allowed", "internal", "bad-request",
    }  # fmt: skip


def test_the_ground_imports_only_the_standard_library_and_itself() -> None:
    package = Path(igwcore.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top == "igwcore" or top in sys.stdlib_module_names, (path.name, name)
