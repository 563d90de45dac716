"""Media types as SPEC §1 compares them: aliases, case, parameters, text/xml, wildcards."""

from __future__ import annotations

from collections.abc import Iterable

ALIASES = {
    "json": "application/json",
    "xml": "application/xml",
    "text": "text/plain",
    "csv": "text/csv",
    "yaml": "application/yaml",
    "binary": "application/octet-stream",
    "soap": "application/soap+xml",
}
SYNONYMS = {"text/xml": "application/xml"}
SAME = "same"
ANY = "*/*"
NONE = "none"  # a stage that outputs nothing (a one-way operation): only the last
DEFAULT = "application/octet-stream"


# Content types normalized before: every request's type is asked about several times, and
# clients send few. At most 1024 of them, none longer than 200 characters.
_NORMALIZED: dict[str, str] = {}


def normalize(media_type: str) -> str:
    """Lower case, alias expanded, parameters dropped, text/xml written application/xml."""
    known = _NORMALIZED.get(media_type)
    if known is None:
        known = _normalize(media_type)
        if len(media_type) <= 200 and len(_NORMALIZED) < 1024:
            _NORMALIZED[media_type] = known
    return known


def _normalize(media_type: str) -> str:
    essence = media_type.split(";", 1)[0].strip().lower()
    essence = ALIASES.get(essence, essence)
    return SYNONYMS.get(essence, essence)


def matches(pattern: str, media_type: str) -> bool:
    """Whether `pattern` (which may be `type/*` or `*/*`) covers `media_type`."""
    p, m = normalize(pattern), normalize(media_type)
    if p in (ANY, m):
        return True
    if p.endswith("/*"):
        return m.split("/", 1)[0] == p[:-2]
    return False


def accepts(accepted: Iterable[str], media_type: str) -> bool:
    """Whether a stage accepting `accepted` takes `media_type`; `*/*` given takes only `*/*`."""
    if normalize(media_type) == ANY:
        # An output of `*/*` is only known at run time: it satisfies any check at assembly.
        return True
    return any(matches(p, media_type) for p in accepted)


def is_xml(media_type: str) -> bool:
    m = normalize(media_type)
    return m == "application/xml" or m.endswith("+xml")


def is_json(media_type: str) -> bool:
    m = normalize(media_type)
    return m == "application/json" or m.endswith("+json")
